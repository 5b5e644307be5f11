"""Health: each dependency's status, coloured, with when it last changed."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from shared.models.health import DependencyHealth
from tui.common.tables import add_columns
from tui.console.panes.base import Pane

COLOURS = {"ok": "green", "ready": "green", "degraded": "yellow", "not_configured": "dim", "disabled": "dim"}


def coloured(status: str) -> Text:
    return Text(status, style=f"bold {COLOURS.get(status, 'red')}")


def clock(timestamp: str) -> str:
    """`2024-05-01T12:34:56.789Z` -> `12:34:56`."""
    return timestamp[11:19] if len(timestamp) >= 19 and timestamp[10] in "T " else timestamp


class HealthPane(Pane):
    INTERVAL = 5.0
    FOCUS = "#health-table"
    DEFAULT_CSS = """
    HealthPane #health-summary { height: auto; padding: 0 1; }
    HealthPane DataTable { height: 1fr; }
    HealthPane #health-detail { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.health: DependencyHealth | None = None
        self.last: dict[str, str] = {}
        self.since: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first check…", id="health-summary")
        table: DataTable[str | Text] = DataTable(id="health-table", cursor_type="row", zebra_stripes=True)
        add_columns(table, [("Component", 14), ("Status", 14), ("Latency", 8), ("Since", 8), ("Detail", 22)])
        yield table
        yield Static("", id="health-detail")
        yield Static("", classes="pane-status")

    async def fetch(self) -> None:
        self.show(await self.client.dependencies())
        self.set_status("")

    def show(self, health: DependencyHealth) -> None:
        for name, status in health.components.items():
            if self.last.get(name) != status:
                self.since[name] = health.timestamp
                self.last[name] = status
        summary = Text.assemble(
            "Overall ", coloured(health.status), f"   version {health.version}", f"   checked {clock(health.timestamp)}"
        )
        self.query_one("#health-summary", Static).update(summary)
        table = self.query_one(DataTable)
        table.clear()
        for name, status in sorted(health.components.items()):
            detail = health.details.get(name)
            latency = f"{detail.latency_ms:.0f} ms" if detail and detail.latency_ms is not None else ""
            table.add_row(
                name,
                coloured(status),
                latency,
                clock(self.since.get(name, "")),
                Text(detail.detail if detail else ""),
                key=name,
            )
        self.health = health
        self._show_detail()

    @on(DataTable.RowHighlighted, "#health-table")
    def _show_detail(self) -> None:
        table = self.query_one(DataTable)
        names = sorted(self.health.components) if self.health else []
        if not 0 <= table.cursor_row < len(names):
            return
        name = names[table.cursor_row]
        detail = self.health.details.get(name) if self.health else None
        text = f"{name}: {self.last.get(name, '')}" + (f" — {detail.detail}" if detail and detail.detail else "")
        self.query_one("#health-detail", Static).update(Text(text))
