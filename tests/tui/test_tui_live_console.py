"""The operator console against the real server over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from textual.widgets import DataTable, Input, OptionList, RichLog

from tests.tui.helpers import connector, text_of, until
from tests.tui.live import LiveServer
from tui.chat.stages import TERMINAL
from tui.client import DocmanClient
from tui.console.app import ConsoleApp
from tui.console.panes.logs import LogsPane
from tui.console.panes.runbooks import RunbooksPane
from tui.credentials import CredentialStore


def log_text(pane: Any) -> str:
    return "\n".join(strip.text for strip in pane.query_one(RichLog).lines)


async def failed_document(client: DocmanClient, tmp: Path) -> str:
    broken = tmp / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a PDF\n%%EOF\n")
    doc = await client.upload(broken)
    while doc.status not in TERMINAL:
        await asyncio.sleep(0.1)
        doc = await client.document(doc.id)
    assert doc.status == "failed", doc
    return doc.id


async def test_console_panes_against_the_server(
    live_server: LiveServer, admin: DocmanClient, store: CredentialStore, tmp_path: Path
) -> None:
    doc_id = await failed_document(admin, tmp_path)
    cid = "tui-console-test-0001"
    async with httpx.AsyncClient() as raw:
        await raw.get(f"{live_server.url}/api/v1/health/live", headers={"X-Correlation-ID": cid})

    app = ConsoleApp(admin, connect=connector(store))
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: app.user is not None, 20, "signed in")
        health = app.screen.query_one("#health-table", DataTable)
        await until(pilot, lambda: health.row_count > 0, 20, "health components")
        assert "database" in [k.value for k in health.rows]
        assert "Overall" in text_of(app.screen.query_one("#health-summary"))

        await pilot.press("3")
        logs = app.screen.query_one(LogsPane)
        logs.set_filter(correlation_id=cid)
        await until(pilot, lambda: "/api/v1/health/live" in log_text(logs), 20, "the request's log line")
        lines = [line for line in log_text(logs).splitlines() if line.strip()]
        assert lines and all(cid[:12] in line for line in lines), lines
        assert "/api/v1/health/live" in log_text(logs)

        await pilot.press("4")
        failed = app.screen.query_one("#failed-table", DataTable)
        await until(pilot, lambda: any(k.value == doc_id for k in failed.rows), 20, "the failed document")
        failed.move_cursor(row=[k.value for k in failed.rows].index(doc_id))
        failed.focus()
        await pilot.press("enter")  # jumps to Logs filtered by its document id
        await until(pilot, lambda: logs.filter.document_id == doc_id, 10, "logs filtered by document")
        await until(pilot, lambda: doc_id[:8] in log_text(logs), 20, "the document's log lines")

        await pilot.press("5")
        runbooks = app.screen.query_one(RunbooksPane)
        await until(pilot, lambda: runbooks.runbooks, 20, "the runbook list")
        runbooks.select("document-not-found-in-search")
        await until(
            pilot,
            lambda: runbooks.current is not None and runbooks.current.id == "document-not-found-in-search",
            20,
            "the runbook",
        )
        runbooks.focus()
        await pilot.press("x")
        await until(pilot, lambda: app.screen.query("#field-document_id"), 10, "the params form")
        app.screen.query_one("#field-document_id", Input).value = doc_id
        app.screen.query_one("#field-text", Input).value = "not really a PDF"
        await pilot.click("#submit")
        await until(pilot, lambda: runbooks.last_run is not None, 60, "a verdict")
        run = runbooks.last_run
        assert run is not None and run.verdict in ("fail", "warn", "pass") and run.steps
        assert run.steps[0].check.verdict == "fail"  # the document failed ingestion
        assert "FAIL" in text_of(app.screen.query_one("#run-summary"))
        step = next(i for i, st in enumerate(run.steps) if st.fix == "reprocess")
        app.screen.query_one("#run-steps", OptionList).highlighted = step
        await pilot.press("f")  # the one-key fix: reprocess the document
        await until(pilot, lambda: "reprocess:" in text_of(runbooks.query_one(".pane-status")), 20, "the fix result")
        assert "reprocess: ok" in text_of(runbooks.query_one(".pane-status"))

        await pilot.press("2")
        await until(
            pilot, lambda: "window" in text_of(app.screen.query_one("#metrics-summary")), 20, "a metrics sample"
        )
