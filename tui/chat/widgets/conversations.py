"""The conversation list in the sidebar."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Label, ListItem, ListView

from shared.models.chat import Conversation


class ConversationItem(ListItem):
    DEFAULT_CSS = """
    ConversationItem { padding: 0 1; height: 1; }
    ConversationItem Label { width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, conversation: Conversation) -> None:
        super().__init__(Label(conversation.title or "Untitled"), id=f"conv-{conversation.id}")
        self.conversation = conversation


class ConversationList(ListView):
    """Enter opens a conversation; n, r and d (or Delete) act on the highlighted one."""

    DEFAULT_CSS = """
    ConversationList { width: 26; border-right: vkey $foreground 20%; background: $panel; }
    ConversationList:focus-within { border-right: vkey $accent; }
    """
    BINDINGS = [
        Binding("n", "screen.new_conversation", "New"),
        Binding("r", "screen.rename_conversation", "Rename"),
        Binding("d,delete", "screen.delete_conversation", "Delete"),
    ]

    async def show(self, conversations: list[Conversation], current: str | None) -> None:
        await self.clear()
        await self.extend(ConversationItem(c) for c in conversations)
        for i, item in enumerate(self.children):
            if isinstance(item, ConversationItem) and item.conversation.id == current:
                self.index = i

    @property
    def highlighted(self) -> Conversation | None:
        item = self.highlighted_child
        return item.conversation if isinstance(item, ConversationItem) else None
