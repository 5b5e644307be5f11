"""`docman chat`: ask questions about your documents, with cited, streamed answers."""

from __future__ import annotations

from textual.app import App

from tui.chat.palette import ChatCommands
from tui.chat.screens.chat import ChatScreen
from tui.common.app import DocmanApp


class ChatApp(DocmanApp):
    TITLE = "docman chat"
    CSS_PATH = "chat.tcss"
    COMMANDS = App.COMMANDS | {ChatCommands}

    def get_default_screen(self) -> ChatScreen:
        self.chat_screen = ChatScreen()
        return self.chat_screen

    def on_signed_in(self) -> None:
        self.chat_screen.load()
