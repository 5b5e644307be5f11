"""Jobs: the queue, running jobs and failed documents; `r` reprocesses, Enter shows its logs."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Label, Static

from shared.models.ops import FailedDocument, JobsOverview
from tui.common.tables import add_columns
from tui.console.panes.base import Pane


class JobsPane(Pane):
    INTERVAL = 3.0
    FOCUS = "#failed-table"
    BINDINGS = [
        Binding("r", "reprocess", "Reprocess"),
    ]
    DEFAULT_CSS = """
    JobsPane #jobs-summary { height: auto; padding: 0 1; }
    JobsPane Label { margin-top: 1; padding: 0 1; text-style: bold; }
    JobsPane #active-table { height: auto; max-height: 8; }
    JobsPane #failed-table { height: 1fr; }
    JobsPane #failed-detail { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    """

    class ShowLogs(Message):
        def __init__(self, document_id: str) -> None:
            super().__init__()
            self.document_id = document_id

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.failed: list[FailedDocument] = []

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first check…", id="jobs-summary")
        yield Label("Running")
        active: DataTable[str] = DataTable(id="active-table", cursor_type="row", show_cursor=False)
        add_columns(
            active, [("Document", 16), ("Stage", 10), ("Attempt", 7), ("Worker", 9), ("Progress", 12), ("Started", 10)]
        )
        active.can_focus = False
        yield active
        yield Label("Failed documents (r reprocess · Enter logs)")
        failed: DataTable[str | Text] = DataTable(id="failed-table", cursor_type="row", zebra_stripes=True)
        add_columns(failed, [("Title", 20), ("Error code", 14), ("Error", 20), ("Updated", 16)])
        yield failed
        yield Static("", id="failed-detail")
        yield Static("", classes="pane-status")

    async def fetch(self) -> None:
        self.show(await self.client.jobs())
        self.set_status("")

    def show(self, jobs: JobsOverview) -> None:
        by_status = ", ".join(f"{k} {v}" for k, v in sorted(jobs.documents_by_status.items())) or "none"
        summary = Text.assemble(
            ("Queued ", "bold"),
            str(jobs.queued),
            ("   Running ", "bold"),
            str(jobs.running),
            ("   Failed jobs ", "bold"),
            (str(jobs.failed_jobs), "red" if jobs.failed_jobs else ""),
            ("   Oldest queued ", "bold"),
            f"{jobs.oldest_queued_seconds:.0f} s",
            "\nDocuments: ",
            by_status,
        )
        self.query_one("#jobs-summary", Static).update(summary)
        active = self.query_one("#active-table", DataTable)
        active.clear()
        for job in jobs.active:
            pages = f"{job.pages_done}/{job.page_count} pages" if job.page_count else f"{job.chunk_count} chunks"
            active.add_row(
                job.title,
                job.status,
                f"{job.attempts}/{job.max_attempts}",
                job.worker or "",
                pages,
                f"{job.started_seconds_ago:.0f} s ago",
                key=str(job.job_id),
            )
        table = self.query_one("#failed-table", DataTable)
        row = table.cursor_row
        table.clear()
        self.failed = list(jobs.failed)
        for doc in self.failed:
            table.add_row(
                doc.title,
                Text(doc.error_code or "", style="red"),
                doc.error or "",
                doc.updated_at[:16].replace("T", " "),
                key=doc.id,
            )
        if self.failed:
            table.move_cursor(row=max(0, min(row, len(self.failed) - 1)))
        self._show_error()

    @on(DataTable.RowHighlighted, "#failed-table")
    def _show_error(self) -> None:
        doc = self.selected()
        text = f"{doc.title} ({doc.id}): {doc.error_code or 'failed'} — {doc.error or 'no reason given'}" if doc else ""
        self.query_one("#failed-detail", Static).update(Text(text))

    def selected(self) -> FailedDocument | None:
        table = self.query_one("#failed-table", DataTable)
        if 0 <= table.cursor_row < len(self.failed):
            return self.failed[table.cursor_row]
        return None

    def action_reprocess(self) -> None:
        doc = self.selected()
        if doc is not None:
            self.reprocess(doc)

    @work(group="reprocess", exit_on_error=False)
    async def reprocess(self, doc: FailedDocument) -> None:
        result = await self.client.reprocess(doc.id)
        self.app.notify(f"Reprocessing {doc.title}: {result.status}")
        self.poll()

    @on(DataTable.RowSelected, "#failed-table")
    def _row_selected(self) -> None:
        self.action_show_logs()

    def action_show_logs(self) -> None:
        doc = self.selected()
        if doc is not None:
            self.post_message(self.ShowLogs(doc.id))
