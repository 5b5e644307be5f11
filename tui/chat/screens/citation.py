"""A cited page: its text with the cited passage highlighted; [ and ] move between the cited pages."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from shared.models.chat import Citation
from tui.chat.highlight import highlighted, locate
from tui.common.errors import UsesClient


class CitationScreen(UsesClient, ModalScreen[None]):
    DEFAULT_CSS = """
    CitationScreen { align: center middle; }
    CitationScreen > Vertical {
        width: 100; max-width: 100%; height: 90%; border: thick $secondary; background: $surface;
    }
    CitationScreen #cite-title { padding: 0 1; background: $secondary 25%; text-style: bold; }
    CitationScreen #cite-status { padding: 0 1; color: $text-muted; }
    CitationScreen #page-scroll { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss_screen", "Close"),
        Binding("left_square_bracket", "page(-1)", "Prev page"),
        Binding("right_square_bracket", "page(1)", "Next page"),
    ]

    def __init__(self, citation: Citation) -> None:
        super().__init__()
        self.citation = citation
        self.page_number = citation.page_start

    def compose(self) -> ComposeResult:
        c = self.citation
        with Vertical():
            yield Static(f"[{c.n}] {c.title or c.filename}", id="cite-title", markup=False)
            yield Static("loading…", id="cite-status")
            with VerticalScroll(id="page-scroll"):
                yield Static("", id="page-text")
            yield Footer()

    def on_mount(self) -> None:
        self.load_page(self.page_number)

    @work(exclusive=True, group="page", exit_on_error=False)
    async def load_page(self, number: int) -> None:
        page = await self.client.page(self.citation.document_id, number)
        spans = locate(page.text, self.citation.text or self.citation.snippet)
        if not spans and self.citation.snippet and self.citation.text:
            spans = locate(page.text, self.citation.snippet)
        total = f" of {page.page_count}" if page.page_count else ""
        found = "cited passage highlighted" if spans else "cited passage not found on this page"
        c = self.citation
        cited = f"pages {c.page_start}–{c.page_end}" if c.page_end != c.page_start else f"page {c.page_start}"
        self.query_one("#cite-status", Static).update(f"Page {number}{total} · cited: {cited} · {found}")
        self.query_one("#page-text", Static).update(highlighted(page.text, spans))
        scroll = self.query_one("#page-scroll", VerticalScroll)
        if spans:
            width = max(20, scroll.size.width - 2)
            before = page.text[: spans[0][0]].split("\n")
            line = sum(max(1, -(-len(part) // width)) for part in before[:-1]) + len(before[-1]) // width
            self.call_after_refresh(scroll.scroll_to, y=max(0, line - 3), animate=False)
        else:
            scroll.scroll_home(animate=False)

    def action_page(self, step: int) -> None:
        c = self.citation
        target = self.page_number + step
        if c.page_start - 1 <= target <= c.page_end + 1 and target >= 1:
            self.page_number = target
            self.load_page(target)

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
