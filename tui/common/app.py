"""What both terminal apps share: the client, signing in (and again when the session is lost),
key help on F1 / ?, and errors from workers shown as notifications."""

from __future__ import annotations

from collections.abc import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from shared.models.auth import User
from tui.client import DocmanClient
from tui.common.errors import ReportsWorkerErrors
from tui.common.login import Connect, LoginScreen
from tui.errors import ClientError, NotSignedIn


class DocmanApp(ReportsWorkerErrors, App[None]):
    """Subclasses build their main screen in `get_default_screen` and load it in `on_signed_in`."""

    BINDINGS = [
        Binding("f1", "toggle_help", "Keys"),
        Binding("question_mark", "toggle_help", "Keys", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+t", "change_theme", "Theme", show=False),
    ]
    REQUIRED_ROLES: tuple[str, ...] = ()

    def __init__(
        self,
        client: DocmanClient | None,
        *,
        connect: Connect,
        server: str = "",
        email: str = "",
        auto_login: tuple[str, str] | None = None,
        notice: str = "",
    ) -> None:
        super().__init__()
        self.client: DocmanClient | None = client
        self.connect = connect
        self.default_server = server or (client.base_url if client else "")
        self.default_email = email or (client.session.email if client else "")
        self.auto_login = auto_login
        self.notice = notice
        self.user: User | None = None
        self._login_open = False

    @property
    def api(self) -> DocmanClient:
        assert self.client is not None, "not signed in"
        return self.client

    def on_ready(self) -> None:
        """The main screen is composed: sign in (or ask) and start it."""
        self.start_session()

    @work(exclusive=True, group="session", exit_on_error=False)
    async def start_session(self) -> None:
        """Use the stored session, else the automatic login, else ask."""
        if self.client is not None and self.auto_login is not None and not self.client.session.signed_in():
            try:
                await self.client.login(*self.auto_login)
            except ClientError as exc:
                self.notice = f"Automatic sign-in failed: {exc}"
        if self.client is not None and self.client.session.signed_in():
            try:
                await self._signed_in(self.client)
                return
            except NotSignedIn as exc:
                self.notice = str(exc)
            except ClientError as exc:
                self.notice = str(exc)
        self.sign_in_again(self.notice)

    def sign_in_again(self, message: str = "") -> None:
        if self._login_open:
            return
        self._login_open = True
        screen = LoginScreen(self.connect, server=self.default_server, email=self.default_email, message=message)
        self.push_screen(screen, callback=self._login_done)

    def _login_done(self, client: DocmanClient | None) -> None:
        self._login_open = False
        if client is None:
            return
        old, self.client = self.client, client
        if old is not None and old is not client:
            self.run_worker(old.aclose(), group="cleanup")
        self.default_server, self.default_email = client.base_url, client.session.email
        self.finish_login(client)

    @work(exclusive=True, group="session", exit_on_error=False)
    async def finish_login(self, client: DocmanClient) -> None:
        await self._signed_in(client)

    async def _signed_in(self, client: DocmanClient) -> None:
        self.user = await client.me()
        if self.REQUIRED_ROLES and self.user.role not in self.REQUIRED_ROLES:
            raise NotSignedIn(
                f"{self.user.email} is a {self.user.role}: this console needs the operator role. "
                "Sign in as an operator or admin.",
                status=403,
                code="insufficient_role",
            )
        self.sub_title = f"{self.user.email} ({self.user.role}) @ {client.base_url}"
        self.on_signed_in()

    def on_signed_in(self) -> None:
        """Called once signed in: start loading and polling."""

    async def sign_out(self) -> None:
        if self.client is not None:
            await self.client.logout()
        self.sign_in_again("Signed out.")

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Sign out", "Revoke this session and sign in again", self._sign_out_command)

    def _sign_out_command(self) -> None:
        self.run_worker(self.sign_out(), group="session", exclusive=True, exit_on_error=False)

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()
