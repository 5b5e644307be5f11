"""The documents panel: upload by path with a progress bar per upload, the list, delete."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Static

from shared.models.documents import Document
from tui.chat.stages import TERMINAL, describe, percent
from tui.common.dialogs import ConfirmScreen
from tui.common.errors import UsesClient
from tui.common.tables import add_columns
from tui.errors import ClientError

STATUS_STYLE = {"ready": "green", "failed": "red", "queued": "yellow"}
POLL_SECONDS = 0.5  # between status checks of an upload


class UploadRow(UsesClient, Horizontal):
    """One upload: name, stage and a progress bar, polled until ready or failed."""

    DEFAULT_CSS = """
    UploadRow { height: 1; }
    UploadRow .name { width: 20; text-wrap: nowrap; text-overflow: ellipsis; }
    UploadRow ProgressBar { width: 26; }
    UploadRow .stage { width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    UploadRow.-failed .stage { color: $error; }
    UploadRow.-ready .stage { color: $success; }
    """

    def __init__(self, file: Path) -> None:
        super().__init__()
        self.file = file
        self.document: Document | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.file.name, classes="name", markup=False)
        yield ProgressBar(total=100, show_eta=False)
        yield Label("uploading…", classes="stage", markup=False)

    def on_mount(self) -> None:
        self.run_upload()

    def show(self, doc: Document) -> None:
        self.document = doc
        self.query_one(ProgressBar).update(progress=percent(doc))
        self.query_one(".stage", Label).update(
            ("duplicate of an earlier upload: " if doc.duplicate else "") + describe(doc)
        )
        self.set_class(doc.status == "failed", "-failed")
        self.set_class(doc.status == "ready", "-ready")

    @work(group="upload", exit_on_error=False)
    async def run_upload(self) -> None:
        try:
            doc = await self.client.upload(self.file)
        except ClientError as exc:
            self.query_one(".stage", Label).update(f"upload refused: {exc}")
            self.add_class("-failed")
            return
        self.show(doc)
        self.post_message(DocumentsPanel.Changed())
        while doc.status not in TERMINAL:
            await asyncio.sleep(POLL_SECONDS)
            doc = await self.client.document(doc.id)
            self.show(doc)
        self.post_message(DocumentsPanel.Changed())


class DocumentsPanel(UsesClient, Vertical):
    BINDINGS = [
        Binding("ctrl+r", "refresh_list", "Refresh"),
        Binding("d,delete", "delete_document", "Delete"),
    ]
    DEFAULT_CSS = """
    DocumentsPanel #upload-bar { height: 3; }
    DocumentsPanel #upload-path { width: 1fr; }
    DocumentsPanel #uploads { height: auto; max-height: 6; }
    DocumentsPanel DataTable { height: 1fr; }
    DocumentsPanel #doc-detail { height: auto; max-height: 3; color: $text-muted; padding: 0 1; }
    """

    class Changed(Message):
        """An upload advanced: refresh the list."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.documents: list[Document] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="upload-bar"):
            yield Input(placeholder="Path of a PDF, .txt or .md file to upload", id="upload-path")
            yield Button("Upload", id="upload", variant="primary")
        yield Vertical(id="uploads")
        table: DataTable[str] = DataTable(id="documents-table", cursor_type="row", zebra_stripes=True)
        add_columns(table, [("Title", 22), ("Status", 18), ("Pages", 5), ("Chunks", 6), ("Uploaded", 16)])
        yield table
        yield Static("", id="doc-detail", markup=False)

    @on(Input.Submitted, "#upload-path")
    @on(Button.Pressed, "#upload")
    def start_upload(self) -> None:
        field = self.query_one("#upload-path", Input)
        raw = field.value.strip()
        if not raw:
            return
        file = Path(raw).expanduser()
        if not file.is_file():
            self.app.notify(f"No such file: {file}", severity="error")
            return
        field.value = ""
        self.query_one("#uploads").mount(UploadRow(file))

    @on(Changed)
    def _changed(self) -> None:
        self.refresh_list()

    def action_refresh_list(self) -> None:
        self.refresh_list()

    @work(exclusive=True, group="documents", exit_on_error=False)
    async def refresh_list(self) -> None:
        listing = await self.client.documents(limit=200)
        self.documents = listing.items
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for d in listing.items:
            code = f" ({d.error_code})" if d.error_code else ""
            status = Text(d.status + code, style=STATUS_STYLE.get(d.status, "cyan"))
            pages = "" if d.page_count is None else str(d.page_count)
            table.add_row(
                d.title or d.filename,
                status,
                pages,
                str(d.chunk_count),
                d.upload_date.strftime("%Y-%m-%d %H:%M"),
                key=d.id,
            )
        if listing.items:
            table.move_cursor(row=max(0, min(row, len(listing.items) - 1)))
        self._show_detail()

    @on(DataTable.RowHighlighted, "#documents-table")
    def _show_detail(self) -> None:
        doc = self.selected()
        text = "" if doc is None else f"{doc.filename} · {doc.size_bytes:,} bytes · {describe(doc)}"
        self.query_one("#doc-detail", Static).update(text)

    def selected(self) -> Document | None:
        table = self.query_one(DataTable)
        if not self.documents or table.cursor_row < 0 or table.cursor_row >= len(self.documents):
            return None
        return self.documents[table.cursor_row]

    def action_delete_document(self) -> None:
        doc = self.selected()
        if doc is None:
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.delete_document(doc)

        self.app.push_screen(ConfirmScreen(f"Delete “{doc.title or doc.filename}”, its text and vectors?"), confirmed)

    @work(group="documents-delete", exit_on_error=False)
    async def delete_document(self, doc: Document) -> None:
        await self.client.delete_document(doc.id)
        self.app.notify(f"Deleted {doc.title or doc.filename}")
        self.refresh_list()
