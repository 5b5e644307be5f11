"""Pure helpers of the apps: finding a cited passage, ingestion progress, citation links."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.models.documents import Document, Progress
from tui.chat.highlight import locate
from tui.chat.stages import describe, percent
from tui.chat.widgets.messages import link_citations

PAGE = "Intro line.\n\nThe Lyra turbine spins at\n12000 revolutions per minute. It is quiet.\nOther text."


def test_locate_whole_passage_across_line_breaks() -> None:
    [(start, end)] = locate(PAGE, "the Lyra turbine   spins at 12000 revolutions per minute.")
    assert PAGE[start:end] == "The Lyra turbine spins at\n12000 revolutions per minute."


def test_locate_chunk_spanning_pages_marks_the_part_on_this_page() -> None:
    passage = (
        "Something from the previous page that is not here. The Lyra turbine spins at 12000 revolutions per minute."
    )
    spans = locate(PAGE, passage)
    assert spans and "Lyra" in PAGE[spans[0][0] : spans[0][1]]


def test_locate_strips_marks_and_misses_cleanly() -> None:
    assert locate(PAGE, "<mark>Lyra</mark> turbine spins") != []
    assert locate(PAGE, "not on this page at all, really") == []
    assert locate("", "x") == []


def doc(status: str, **kw: object) -> Document:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    return Document(
        id="d",
        title="t",
        filename="f.pdf",
        content_type="application/pdf",
        size_bytes=1,
        sha256="0",
        status=status,
        stage=status,
        upload_date=t,
        updated_at=t,
        **kw,  # type: ignore[arg-type]
    )


def test_progress_through_the_stages() -> None:
    assert percent(doc("queued")) == 0
    half = percent(doc("extracting", progress=Progress(pages_done=1, page_count=2)))
    assert 5 < half < 45
    assert percent(doc("embedding", progress=Progress(chunks_embedded=3, chunk_count=4))) > half
    assert percent(doc("ready")) == 100
    assert (
        describe(doc("failed", error_code="pdf_encrypted", error="needs a password"))
        == "failed (pdf_encrypted): needs a password"
    )
    assert describe(doc("ready", page_count=1, chunk_count=2)) == "ready: 1 page, 2 chunks"


def test_citations_become_links() -> None:
    assert link_citations("Yes [1][2]. See [x](y).") == r"Yes [\[1\]](cite:1)[\[2\]](cite:2). See [x](y)."
