"""The chat screen: conversations, streamed cited answers, sources, and the documents tab."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, OptionList, TabbedContent, TabPane

from shared.models.chat import Citation, Conversation, Done, Failed, Sources, Token
from tui.chat.screens.citation import CitationScreen
from tui.chat.widgets.citations import CitationList
from tui.chat.widgets.conversations import ConversationList
from tui.chat.widgets.documents import DocumentsPanel
from tui.chat.widgets.messages import AssistantMessage, MessageLog, done_meta
from tui.chat.widgets.prompt import PromptInput
from tui.common.dialogs import ConfirmScreen, FormScreen
from tui.common.errors import UsesClient
from tui.errors import ClientError, NotSignedIn


class ChatScreen(UsesClient, Screen[None]):
    BINDINGS = [
        Binding("escape", "stop", "Stop answer"),
        Binding("ctrl+n", "new_conversation", "New chat"),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar", show=False),
        Binding("f2", "focus_conversations", "Chats"),
        Binding("f3", "focus_citations", "Sources"),
        Binding("f4", "switch_tab", "Docs"),
        Binding("ctrl+l", "focus_prompt", "Ask", show=False),
    ]

    conversation_id: reactive[str | None] = reactive(None)
    generating: reactive[bool] = reactive(False, bindings=True)

    def __init__(self) -> None:
        super().__init__(id="chat-screen")
        self.conversations: list[Conversation] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="chat-tab", id="tabs"):
            with TabPane("Chat", id="chat-tab"), Horizontal():
                yield ConversationList(id="conversations")
                with Vertical(id="chat-column"):
                    yield MessageLog(id="messages")
                    yield CitationList(id="citations")
                    yield PromptInput(id="prompt")
            with TabPane("Documents", id="documents-tab"):
                yield DocumentsPanel(id="documents")
        yield Footer()

    def load(self) -> None:
        """Called once signed in."""
        self.load_conversations()
        self.query_one(DocumentsPanel).refresh_list()
        if not self.query_one(MessageLog).children:
            self.run_worker(self.query_one(MessageLog).show([]), group="empty")
        self.query_one(PromptInput).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.generating
        return True

    # ------------------------------------------------------------------ conversations

    @work(exclusive=True, group="conversations", exit_on_error=False)
    async def load_conversations(self) -> None:
        listing = await self.client.conversations()
        self.conversations = listing.items
        await self.query_one(ConversationList).show(listing.items, self.conversation_id)

    @on(ConversationList.Selected, "#conversations")
    def _picked(self, event: ConversationList.Selected) -> None:
        conversation = self.query_one(ConversationList).highlighted
        if conversation is not None:
            self.open_conversation(conversation.id)

    @work(exclusive=True, group="open", exit_on_error=False)
    async def open_conversation(self, conversation_id: str) -> None:
        self.workers.cancel_group(self, "ask")
        detail = await self.client.conversation(conversation_id)
        self.conversation_id = detail.id
        self.title = detail.title
        await self.query_one(MessageLog).show(detail.messages)
        self.query_one(PromptInput).load_history([m.content for m in detail.messages if m.role == "user"])
        answers = [m for m in detail.messages if m.role == "assistant"]
        self.query_one(CitationList).show(answers[-1].citations if answers else [])
        self.query_one(PromptInput).focus()

    async def action_new_conversation(self) -> None:
        self.workers.cancel_group(self, "ask")
        self.conversation_id = None
        self.title = "New conversation"
        await self.query_one(MessageLog).show([])
        self.query_one(CitationList).show([])
        self.query_one(TabbedContent).active = "chat-tab"
        self.query_one(PromptInput).focus()

    def _target(self) -> Conversation | None:
        return self.query_one(ConversationList).highlighted or next(
            (c for c in self.conversations if c.id == self.conversation_id), None
        )

    def action_rename_conversation(self) -> None:
        conversation = self._target()
        if conversation is None:
            return

        def renamed(values: dict[str, str] | None) -> None:
            if values and values["title"]:
                self.rename(conversation.id, values["title"])

        self.app.push_screen(
            FormScreen("Rename conversation", [("title", "Title", conversation.title)], submit="Rename"), renamed
        )

    @work(group="rename", exit_on_error=False)
    async def rename(self, conversation_id: str, title: str) -> None:
        await self.client.rename_conversation(conversation_id, title)
        if conversation_id == self.conversation_id:
            self.title = title
        self.load_conversations()

    def action_delete_conversation(self) -> None:
        conversation = self._target()
        if conversation is None:
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.delete(conversation.id)

        self.app.push_screen(ConfirmScreen(f"Delete the conversation “{conversation.title}”?"), confirmed)

    @work(group="delete", exit_on_error=False)
    async def delete(self, conversation_id: str) -> None:
        await self.client.delete_conversation(conversation_id)
        if conversation_id == self.conversation_id:
            await self.action_new_conversation()
        self.load_conversations()

    # ------------------------------------------------------------------ asking

    @on(PromptInput.Submitted, "#prompt")
    def _submitted(self, event: PromptInput.Submitted) -> None:
        text = event.value.strip()
        if not text or self.generating:
            return
        prompt = self.query_one(PromptInput)
        prompt.remember(text)
        prompt.value = ""
        self.ask(text)

    @work(exclusive=True, group="ask", exit_on_error=False)
    async def ask(self, text: str) -> None:
        log = self.query_one(MessageLog)
        citations = self.query_one(CitationList)
        self.generating = True
        answer: AssistantMessage | None = None
        try:
            if self.conversation_id is None:
                created = await self.client.create_conversation(title=text[:60])
                self.conversation_id, self.title = created.id, created.title
            await log.add_user(text)
            answer = await log.add_assistant()
            citations.show([])
            await self._stream(self.conversation_id, text, answer)
        except asyncio.CancelledError:
            if answer is not None:
                answer.set_meta("stopped (Esc)", failed=True)
            raise
        except ClientError as exc:
            if answer is None:
                raise
            answer.set_meta(str(exc), failed=True)
            if isinstance(exc, NotSignedIn):
                raise  # back to the sign-in screen
        finally:
            self.generating = False
            self.load_conversations()

    async def _stream(self, conversation_id: str, text: str, answer: AssistantMessage) -> None:
        parts: list[str] = []
        stream = Markdown.get_stream(answer.markdown)
        citations = self.query_one(CitationList)
        try:
            async with aclosing(self.client.ask(conversation_id, text)) as events:
                async for event in events:
                    if isinstance(event, Sources):
                        answer.citations = event.citations
                        citations.show(event.citations)
                        answer.set_meta(f"answering from {len(event.citations)} sources…")
                    elif isinstance(event, Token):
                        parts.append(event.text)
                        await stream.write(event.text)
                    elif isinstance(event, Done):
                        await stream.stop()
                        await answer.finish("".join(parts))
                        answer.set_meta(done_meta(event))
                        citations.show(answer.citations, event.cited or None)
                    elif isinstance(event, Failed):
                        answer.set_meta(f"failed ({event.code}): {event.message}", failed=True)
        finally:
            await stream.stop()

    def action_stop(self) -> None:
        self.workers.cancel_group(self, "ask")

    # ------------------------------------------------------------------ citations

    @on(OptionList.OptionSelected, "#citations")
    def _cite_selected(self, event: OptionList.OptionSelected) -> None:
        citation = self.query_one(CitationList).by_number(int(event.option.id or 0))
        if citation is not None:
            self.open_citation(citation)

    @on(Markdown.LinkClicked)
    def _link(self, event: Markdown.LinkClicked) -> None:
        if not event.href.startswith("cite:"):
            return
        event.prevent_default()
        message = next((a for a in event.markdown.ancestors if isinstance(a, AssistantMessage)), None)
        number = int(event.href.removeprefix("cite:") or 0)
        citation = next((c for c in (message.citations if message else []) if c.n == number), None)
        if citation is not None:
            self.open_citation(citation)

    def open_citation(self, citation: Citation) -> None:
        self.app.push_screen(CitationScreen(citation))

    # ------------------------------------------------------------------ navigation

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(ConversationList)
        sidebar.display = not sidebar.display

    def action_focus_conversations(self) -> None:
        self.query_one(TabbedContent).active = "chat-tab"
        sidebar = self.query_one(ConversationList)
        sidebar.display = True
        if sidebar.index is None and sidebar.children:
            sidebar.index = 0
        sidebar.focus()

    def action_focus_citations(self) -> None:
        self.query_one(TabbedContent).active = "chat-tab"
        citations = self.query_one(CitationList)
        if citations.citations:
            if citations.highlighted is None:
                citations.highlighted = 0
            citations.focus()

    def action_focus_prompt(self) -> None:
        self.query_one(TabbedContent).active = "chat-tab"
        self.query_one(PromptInput).focus()

    def action_switch_tab(self, tab: str = "") -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab or ("documents-tab" if tabs.active == "chat-tab" else "chat-tab")
        if tabs.active == "documents-tab":
            self.query_one(DocumentsPanel).refresh_list()
            self.query_one("#upload-path").focus()
        else:
            self.query_one(PromptInput).focus()
