"""The console screen: one tab per concern; 1–5 switch tabs."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from tui.console.panes.base import Pane
from tui.console.panes.health import HealthPane
from tui.console.panes.jobs import JobsPane
from tui.console.panes.logs import LogsPane
from tui.console.panes.metrics import MetricsPane
from tui.console.panes.runbooks import RunbooksPane

TABS = [("health", "Health"), ("metrics", "Metrics"), ("logs", "Logs"), ("jobs", "Jobs"), ("runbooks", "Runbooks")]


class ConsoleScreen(Screen[None]):
    BINDINGS = [Binding(str(i), f"show_tab('{tab}')", title, show=False) for i, (tab, title) in enumerate(TABS, 1)]

    def __init__(self) -> None:
        super().__init__(id="console-screen")

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="tabs"):
            with TabPane("1 Health", id="health"):
                yield HealthPane(id="health-pane")
            with TabPane("2 Metrics", id="metrics"):
                yield MetricsPane(id="metrics-pane")
            with TabPane("3 Logs", id="logs"):
                yield LogsPane(id="logs-pane")
            with TabPane("4 Jobs", id="jobs"):
                yield JobsPane(id="jobs-pane")
            with TabPane("5 Runbooks", id="runbooks"):
                yield RunbooksPane(id="runbooks-pane")
        yield Footer()

    def start(self) -> None:
        for pane in self.query(Pane):
            pane.start()
        self.action_show_tab(self.query_one(TabbedContent).active or "health")

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        pane = self.query_one(f"#{tab}-pane", Pane)
        if pane.FOCUS:
            pane.query_one(pane.FOCUS).focus()

    @on(JobsPane.ShowLogs)
    def _show_logs(self, event: JobsPane.ShowLogs) -> None:
        self.query_one(LogsPane).set_filter(document_id=event.document_id)
        self.action_show_tab("logs")

    def show_logs_for(self, **filters: str | None) -> None:
        self.query_one(LogsPane).set_filter(**filters)
        self.action_show_tab("logs")
