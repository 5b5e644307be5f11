"""Command palette entries of the chat app: actions and every conversation by title."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.chat.screens.chat import ChatScreen

ACTIONS = [
    ("New conversation", "new_conversation", "Start a new conversation"),
    ("Rename conversation", "rename_conversation", "Rename the highlighted conversation"),
    ("Delete conversation", "delete_conversation", "Delete the highlighted conversation"),
    ("Documents", "switch_tab('documents-tab')", "Upload, list and delete documents"),
    ("Chat", "switch_tab('chat-tab')", "Back to the conversation"),
    ("Sources", "focus_citations", "The sources of the last answer"),
    ("Toggle sidebar", "toggle_sidebar", "Show or hide the conversation list"),
]


class ChatCommands(Provider):
    def _chat(self) -> ChatScreen | None:
        from tui.chat.screens.chat import ChatScreen

        return next((s for s in self.app.screen_stack if isinstance(s, ChatScreen)), None)

    def _entries(self) -> list[tuple[str, str, object]]:
        screen = self._chat()
        if screen is None:
            return []
        out: list[tuple[str, str, object]] = [
            (name, help, partial(screen.run_action, action)) for name, action, help in ACTIONS
        ]
        out += [
            (f"Open: {c.title or 'Untitled'}", f"{c.message_count} messages", partial(screen.open_conversation, c.id))
            for c in screen.conversations
        ]
        return out

    async def discover(self) -> Hits:
        for name, help, callback in self._entries():
            yield DiscoveryHit(name, callback, help=help)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help, callback in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help)  # type: ignore[arg-type]
