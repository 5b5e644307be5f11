"""Logs: a live tail (polling `/ops/logs` with `after_seq`) with filters; Space pauses."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, RichLog, Select, Static

from shared.models.ops import LogLine
from tui.client import LogFilter
from tui.console.panes.base import Pane

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LEVEL_STYLE = {
    "DEBUG": "dim",
    "INFO": "green",
    "WARNING": "yellow",
    "ERROR": "bold red",
    "CRITICAL": "bold white on red",
}
FIELDS = [
    ("service", "service"),
    ("correlation_id", "correlation id"),
    ("document_id", "document id"),
    ("contains", "text"),
]


def render_line(line: LogLine) -> Text:
    level = line.level.upper()
    text = Text.assemble(
        (line.timestamp[11:23] if len(line.timestamp) > 19 else line.timestamp, "dim"),
        " ",
        (f"{level:<7}", LEVEL_STYLE.get(level, "")),
        " ",
        (f"{line.service:<8}", "cyan"),
        " ",
        (line.correlation_id[:12], "magenta"),
        " ",
    )
    if line.document_id:
        text.append(f"doc:{line.document_id[:8]} ", "blue")
    text.append(line.message)
    return text


class LogsPane(Pane):
    INTERVAL = 1.0
    FOCUS = "#log-view"
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause/resume"),
        Binding("ctrl+x", "clear_filters", "Clear filters"),
    ]
    DEFAULT_CSS = """
    LogsPane #log-filters { height: 1; }
    LogsPane #log-filters Select { width: 14; }
    LogsPane #log-filters Input { width: 1fr; }
    LogsPane RichLog { height: 1fr; background: $surface; }
    """
    paused: reactive[bool] = reactive(False)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.filter = LogFilter()
        self.last_seq: int | None = None
        self.count = 0
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-filters"):
            yield Select(
                [(f"{level}+", level) for level in LEVELS], prompt="any level", id="filter-level", compact=True
            )
            for name, label in FIELDS:
                yield Input(placeholder=label, id=f"filter-{name}", compact=True)
        yield RichLog(id="log-view", max_lines=5000, wrap=False, markup=False)
        yield Static("", classes="pane-status")

    def set_filter(self, **values: str | None) -> None:
        """Replace the filters (those not given are cleared) and restart the tail."""
        for name, _ in FIELDS:
            self.query_one(f"#filter-{name}", Input).value = values.get(name) or ""
        level = values.get("level")
        select = self.query_one("#filter-level", Select)
        if level:
            select.value = level
        else:
            select.clear()
        self._apply()

    def _read_filter(self) -> LogFilter:
        level = self.query_one("#filter-level", Select).value
        fields = {name: self.query_one(f"#filter-{name}", Input).value.strip() or None for name, _ in FIELDS}
        return LogFilter(level=level if isinstance(level, str) else None, **fields)

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.4, self._apply)

    @on(Input.Submitted)
    def _apply(self) -> None:
        new = self._read_filter()
        if new == self.filter and self.last_seq is not None:
            return
        self.filter = new
        self.last_seq = None
        self.count = 0
        self.query_one(RichLog).clear()
        self.poll()

    async def fetch(self) -> None:
        if self.paused:
            return
        page = await self.client.logs(self.filter, after_seq=self.last_seq, limit=500)
        if self.last_seq is not None and page.last_seq < self.last_seq:
            self.query_one(RichLog).write(Text("— the server's log buffer restarted —", style="dim"))
        view = self.query_one(RichLog)
        for line in page.records:
            view.write(render_line(line))
        self.count += len(page.records)
        self.last_seq = page.last_seq
        self._show_state()

    def _show_state(self) -> None:
        active = ", ".join(f"{k}={v}" for k, v in self.filter.params().items() if v) or "no filters"
        state = "PAUSED (Space resumes)" if self.paused else "live"
        self.set_status(f"{state} · {self.count} lines · {active}")

    def watch_paused(self) -> None:
        if self.is_mounted:
            self._show_state()
            if not self.paused:
                self.poll()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    def action_clear_filters(self) -> None:
        self.set_filter()
