"""The sources of the answer in view: [n] title, pages. Enter opens the cited page."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from shared.models.chat import Citation


def label(c: Citation, cited: bool = True) -> Text:
    pages = f"p. {c.page_start}" if c.page_end == c.page_start else f"pp. {c.page_start}–{c.page_end}"
    text = Text.assemble((f"[{c.n}] ", "bold"), (c.title or c.filename, "" if cited else "dim"), (f"  {pages}", "dim"))
    return text


class CitationList(OptionList):
    DEFAULT_CSS = """
    CitationList { height: auto; max-height: 6; border: round $secondary 60%; border-title-color: $secondary; }
    CitationList:focus { border: round $secondary; }
    CitationList.empty { display: none; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.citations: list[Citation] = []
        self.border_title = "Sources (F3, Enter to open)"
        self.add_class("empty")

    def show(self, citations: list[Citation], cited: list[int] | None = None) -> None:
        self.citations = list(citations)
        self.clear_options()
        self.add_options(Option(label(c, cited is None or c.n in cited), id=str(c.n)) for c in self.citations)
        self.set_class(not self.citations, "empty")

    def by_number(self, n: int) -> Citation | None:
        return next((c for c in self.citations if c.n == n), None)
