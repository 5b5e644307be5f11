"""Snapshots of the main screens at 80x24, drawn from the fake client so nothing depends on timing.

Update after an intended change with `pytest tests/tui/test_tui_snapshots.py --snapshot-update`
and look at the report.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from shared.models.ops import MetricsSummary
from tests.tui.fake import FakeClient
from tui.chat.app import ChatApp
from tui.common.login import LoginScreen
from tui.console.app import ConsoleApp
from tui.console.panes.metrics import MetricsPane


def chat() -> ChatApp:
    client = FakeClient()
    return ChatApp(client, connect=lambda url: client)


def console() -> ConsoleApp:
    client = FakeClient()
    app = ConsoleApp(client, connect=lambda url: client)
    app.poll_scale = 10_000  # one poll per pane: what is drawn is what the fake returns first
    return app


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor would make the picture depend on the clock
    await pilot.pause()


async def open_first_conversation(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("f2", "enter")
    await settle(pilot)


def test_chat_conversation(snap_compare: Any) -> None:
    assert snap_compare(chat(), run_before=open_first_conversation)


def test_chat_citation(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_first_conversation(pilot)
        await pilot.press("f3", "down", "enter")
        await settle(pilot)

    assert snap_compare(chat(), run_before=run_before)


def test_chat_documents(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("tab", "tab", "down")  # the failed document, its error shown below the list
        await settle(pilot)

    assert snap_compare(chat(), run_before=run_before)


def test_login(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.push_screen(
            LoginScreen(lambda url: FakeClient(), server="http://127.0.0.1:8000", message="Signed out.")
        )
        await settle(pilot)

    assert snap_compare(chat(), run_before=run_before)


def test_console_health(snap_compare: Any) -> None:
    assert snap_compare(console(), run_before=settle)


def test_console_metrics(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pane = pilot.app.screen.query_one(MetricsPane)
        for i in range(40):
            pane.record(
                MetricsSummary(
                    timestamp="2024-05-01T12:00:00Z",
                    window_seconds=60,
                    request_rate=5 + i % 7,
                    error_rate=0.02 * (i % 3),
                    latency_p95_ms=40 + 5 * (i % 9),
                    search_p95_ms=20 + i % 5,
                    llm_p50_ms=800 + 20 * (i % 4),
                    queue_depth=i % 6,
                )
            )
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(console(), run_before=run_before)


def test_console_logs(snap_compare: Any) -> None:
    assert snap_compare(console(), press=["3"], run_before=settle)


def test_console_jobs(snap_compare: Any) -> None:
    assert snap_compare(console(), press=["4"], run_before=settle)


def test_console_runbook_run(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        pilot.app.screen.query_one("#field-document_id").value = "doc-2"  # type: ignore[attr-defined]
        await pilot.press("enter", "enter")
        await settle(pilot)

    assert snap_compare(console(), run_before=run_before)
