"""The sign-in screen: server URL, email and password; dismisses with a signed-in client."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from tui.client import DocmanClient
from tui.credentials import normalize_url
from tui.errors import ClientError

Connect = Callable[[str], DocmanClient]


class LoginScreen(Screen[DocmanClient]):
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #login-box { width: 64; max-width: 100%; height: auto; border: round $primary; padding: 0 2; }
    LoginScreen #login-title { text-style: bold; }
    LoginScreen #login-message { color: $text-muted; height: auto; }
    LoginScreen #login-error { color: $error; height: auto; }
    LoginScreen #sign-in { width: 100%; }
    """
    BINDINGS = [Binding("escape", "app.quit", "Quit", show=False)]

    def __init__(self, connect: Connect, *, server: str = "", email: str = "", message: str = "") -> None:
        super().__init__()
        self.connect = connect
        self.server = server or "http://127.0.0.1:8000"
        self.email = email
        self.notice = message
        # the first field still to fill in gets the focus
        self.AUTO_FOCUS = "#password" if email and server else "#email" if server else "#server"  # type: ignore[misc]

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box"):
            yield Static("Sign in to docman", id="login-title")
            yield Static(self.notice, id="login-message")
            yield Label("Server URL")
            yield Input(self.server, placeholder="http://127.0.0.1:8000", id="server")
            yield Label("Email")
            yield Input(self.email, placeholder="you@example.com", id="email")
            yield Label("Password")
            yield Input(password=True, id="password")
            yield Button("Sign in", variant="primary", id="sign-in")
            yield Static("", id="login-error")
        yield Footer()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        if event.input.id == "password":
            self._submit()
        else:
            self.focus_next()

    @on(Button.Pressed, "#sign-in")
    def _submit(self) -> None:
        server = normalize_url(self.query_one("#server", Input).value)
        email = self.query_one("#email", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not server or not email or not password:
            self.query_one("#login-error", Static).update("Fill in the server URL, email and password.")
            return
        self.query_one("#login-error", Static).update("Signing in…")
        self.sign_in(server, email, password)

    @work(exclusive=True, group="login")
    async def sign_in(self, server: str, email: str, password: str) -> None:
        client = self.connect(server)
        try:
            await client.login(email, password)
        except ClientError as exc:
            await client.aclose()
            self.query_one("#login-error", Static).update(str(exc))
            self.query_one("#password", Input).focus()
            return
        self.dismiss(client)
