"""Command palette entries of the console: tabs, log actions, index checks and every runbook."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ConsoleCommands(Provider):
    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        from tui.console.app import ConsoleApp
        from tui.console.panes.runbooks import RunbooksPane
        from tui.console.screens.console import TABS

        app = self.app
        if not isinstance(app, ConsoleApp):
            return []
        screen = app.console_screen
        out: list[tuple[str, str, Callable[[], object]]] = [
            (f"Go to {title}", f"Show the {title} tab", partial(screen.action_show_tab, tab)) for tab, title in TABS
        ]
        out += [
            ("Pause or resume logs", "Stop or restart the live tail", partial(app.run_action, "pause_logs")),
            ("Filter logs by correlation id", "Show only one request's lines", app.ask_correlation_id),
            ("Verify index", "Compare the vector index with the database", app.verify_index),
            ("Rebuild index", "Rebuild the vector index from the database (with a backup)", app.confirm_rebuild),
        ]
        runbooks = screen.query_one(RunbooksPane).runbooks
        out += [(f"Runbook: {r.title}", f"Open the {r.id} runbook", partial(app.open_runbook, r.id)) for r in runbooks]
        return out

    async def discover(self) -> Hits:
        for name, help, callback in self._entries():
            yield DiscoveryHit(name, callback, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help, callback in self._entries():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help)
