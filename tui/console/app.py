"""`docman console`: the operator console (needs the operator or admin role)."""

from __future__ import annotations

from textual import work
from textual.app import App

from tui.common.app import DocmanApp
from tui.common.dialogs import ConfirmScreen, FormScreen
from tui.console.palette import ConsoleCommands
from tui.console.panes.logs import LogsPane
from tui.console.panes.runbooks import RunbooksPane
from tui.console.screens.console import ConsoleScreen


class ConsoleApp(DocmanApp):
    TITLE = "docman console"
    CSS_PATH = "console.tcss"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    REQUIRED_ROLES = ("operator", "admin")
    poll_scale = 1.0  # multiplies every pane's polling interval (tests slow it down)

    def get_default_screen(self) -> ConsoleScreen:
        self.console_screen = ConsoleScreen()
        return self.console_screen

    def on_signed_in(self) -> None:
        self.console_screen.start()

    def action_pause_logs(self) -> None:
        self.console_screen.query_one(LogsPane).action_toggle_pause()

    def ask_correlation_id(self) -> None:
        def entered(values: dict[str, str] | None) -> None:
            if values and values["correlation_id"]:
                self.console_screen.show_logs_for(correlation_id=values["correlation_id"])

        self.push_screen(
            FormScreen("Filter logs", [("correlation_id", "Correlation id", "")], submit="Filter"), entered
        )

    def open_runbook(self, runbook_id: str) -> None:
        self.console_screen.action_show_tab("runbooks")
        self.console_screen.query_one(RunbooksPane).select(runbook_id)

    @work(group="index", exit_on_error=False)
    async def verify_index(self) -> None:
        report = await self.api.verify_index()
        lines = [f"{c.verdict.upper()}: {c.title} — {c.detail}" for c in report.checks]
        self.notify(
            "\n".join([f"{report.vectors} vectors, {report.chunk_rows} chunk rows", *lines]),
            title=f"Index {report.verdict}",
            severity="information" if report.verdict == "pass" else "warning",
            timeout=15,
        )

    def confirm_rebuild(self) -> None:
        def confirmed(ok: bool | None) -> None:
            if ok:
                self.rebuild_index()

        self.push_screen(
            ConfirmScreen("Rebuild the vector index from the database (a backup is kept)?", yes="Rebuild"), confirmed
        )

    @work(group="index", exit_on_error=False)
    async def rebuild_index(self) -> None:
        result = await self.api.rebuild_index(backup=True)
        self.notify(
            f"{result.vectors} vectors in {result.seconds:.1f} s; backup {result.backup or 'none'}",
            title="Index rebuilt",
        )
