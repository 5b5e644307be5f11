"""The messages of a conversation: the user's questions and the streamed, cited answers."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Markdown, Static

from shared.models.chat import Citation, Done, Message

_CITE = re.compile(r"\[(\d{1,3})\](?!\()")


def link_citations(text: str) -> str:
    """`[2]` becomes a link `[[2]](cite:2)`, so clicking it opens the citation."""
    return _CITE.sub(lambda m: f"[\\[{m.group(1)}\\]](cite:{m.group(1)})", text)


class UserMessage(Static):
    DEFAULT_CSS = """
    UserMessage { margin: 1 1 0 8; padding: 0 1; background: $primary 15%; border-left: thick $primary; }
    """


class AssistantMessage(Vertical):
    DEFAULT_CSS = """
    AssistantMessage { height: auto; margin: 1 4 0 1; border-left: thick $secondary; padding: 0 0 0 1; }
    AssistantMessage Markdown { margin: 0; padding: 0; background: transparent; }
    AssistantMessage .meta { color: $text-muted; height: auto; }
    AssistantMessage.failed { border-left: thick $error; }
    AssistantMessage.failed .meta { color: $error; }
    """

    def __init__(self, text: str = "", citations: list[Citation] | None = None, meta: str = "") -> None:
        super().__init__()
        self.text = text
        self.citations: list[Citation] = citations or []
        self._meta = meta

    def compose(self) -> ComposeResult:
        yield Markdown(link_citations(self.text), open_links=False)
        yield Static(self._meta, classes="meta")

    @property
    def markdown(self) -> Markdown:
        return self.query_one(Markdown)

    def set_meta(self, text: str, *, failed: bool = False) -> None:
        self._meta = text
        self.query_one(".meta", Static).update(text)
        self.set_class(failed, "failed")

    async def finish(self, text: str) -> None:
        """The final answer, with its citations made clickable."""
        self.text = text
        await self.markdown.update(link_citations(text))


def done_meta(done: Done) -> str:
    mode = "extractive (no LLM)" if done.mode == "extractive" else "LLM"
    tokens = done.usage.prompt_tokens + done.usage.completion_tokens
    parts = [mode, f"{done.latency_ms / 1000:.1f} s"]
    if tokens:
        parts.append(f"{tokens}{'~' if done.usage.estimated else ''} tokens")
    if done.cited:
        parts.append("cites " + " ".join(f"[{n}]" for n in done.cited))
    return " · ".join(parts)


def message_meta(message: Message) -> str:
    if message.error_code:
        return f"failed: {message.error_code}"
    parts = [m for m in [message.mode and ("extractive (no LLM)" if message.mode == "extractive" else "LLM")] if m]
    if message.citations:
        parts.append(f"{len(message.citations)} sources")
    return " · ".join(parts)


class MessageLog(VerticalScroll):
    DEFAULT_CSS = """
    MessageLog { height: 1fr; }
    MessageLog #empty { color: $text-muted; margin: 1 2; }
    """

    async def show(self, messages: list[Message]) -> None:
        await self.remove_children()
        if not messages:
            await self.mount(Static("No messages yet: ask a question about your documents below.", id="empty"))
            return
        widgets: list[UserMessage | AssistantMessage] = []
        for m in messages:
            if m.role == "user":
                widgets.append(UserMessage(m.content))
            else:
                widgets.append(AssistantMessage(m.content, m.citations, message_meta(m)))
        await self.mount_all(widgets)
        self.scroll_end(animate=False)

    async def add_user(self, text: str) -> None:
        await self.query("#empty").remove()
        await self.mount(UserMessage(text))

    async def add_assistant(self) -> AssistantMessage:
        message = AssistantMessage(meta="searching…")
        await self.mount(message)
        self.anchor()
        return message

    def last_answer(self) -> AssistantMessage | None:
        answers = self.query(AssistantMessage)
        return answers.last() if answers else None
