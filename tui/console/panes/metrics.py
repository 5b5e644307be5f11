"""Metrics: sparklines of the summary's rates, latencies and queue depth, history kept here."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Label, Sparkline, Static

from shared.models.ops import MetricsSummary
from tui.console.panes.base import Pane

HISTORY = 120


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f} ms"


# key, title, value getter, formatter
SERIES: list[tuple[str, str, Callable[[MetricsSummary], float | None], Callable[[float | None], str]]] = [
    ("request_rate", "Requests", lambda s: s.request_rate, lambda v: f"{v or 0:.2f}/s"),
    ("error_rate", "5xx errors", lambda s: s.error_rate * 100, lambda v: f"{v or 0:.1f} %"),
    ("latency_p95_ms", "Latency p95", lambda s: s.latency_p95_ms, _ms),
    ("search_p95_ms", "Search p95", lambda s: s.search_p95_ms, _ms),
    ("llm_p50_ms", "LLM p50", lambda s: s.llm_p50_ms, _ms),
    ("queue_depth", "Queue depth", lambda s: float(s.queue_depth), lambda v: f"{v or 0:.0f}"),
]


class MetricBox(Vertical):
    DEFAULT_CSS = """
    MetricBox { border: round $primary 50%; height: 1fr; padding: 0 1; }
    MetricBox .value { text-style: bold; }
    MetricBox Sparkline { height: 1fr; min-height: 1; }
    """

    def __init__(self, key: str, title: str) -> None:
        super().__init__(id=f"metric-{key}")
        self.border_title = title

    def compose(self) -> ComposeResult:
        yield Label("–", classes="value")
        yield Sparkline([], summary_function=max)

    def update_series(self, values: list[float], text: str) -> None:
        self.query_one(".value", Label).update(text)
        self.query_one(Sparkline).data = values or [0.0]


class MetricsPane(Pane):
    INTERVAL = 3.0
    DEFAULT_CSS = """
    MetricsPane Grid { grid-size: 2 3; grid-gutter: 0 1; height: 1fr; }
    MetricsPane #metrics-summary { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.history: dict[str, deque[float]] = {key: deque(maxlen=HISTORY) for key, *_ in SERIES}

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first sample…", id="metrics-summary")
        with Grid():
            for key, title, _, _ in SERIES:
                yield MetricBox(key, title)
        yield Static("", classes="pane-status")

    async def fetch(self) -> None:
        self.record(await self.client.metrics_summary())
        self.set_status("")

    def record(self, summary: MetricsSummary) -> None:
        for key, _, get, fmt in SERIES:
            value = get(summary)
            self.history[key].append(value or 0.0)
            self.query_one(f"#metric-{key}", MetricBox).update_series(list(self.history[key]), fmt(value))
        self.query_one("#metrics-summary", Static).update(
            f"window {summary.window_seconds:.0f} s · {summary.vectors} vectors · p50 {_ms(summary.latency_p50_ms)}"
            f" · LLM errors {summary.llm_errors:g} · last sample {summary.timestamp[11:19]}"
        )
