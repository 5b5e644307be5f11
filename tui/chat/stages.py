"""How far along an ingestion is, from a document's status and progress counters."""

from __future__ import annotations

from shared.models.documents import Document

# status -> (start, end) of its share of the bar, in percent
SPANS: dict[str, tuple[float, float]] = {
    "queued": (0, 5),
    "extracting": (5, 45),
    "chunking": (45, 50),
    "embedding": (50, 92),
    "indexing": (92, 99),
    "ready": (100, 100),
}
TERMINAL = ("ready", "failed")


def _fraction(done: int, total: int | None) -> float:
    return min(1.0, done / total) if total else 0.0


def percent(doc: Document) -> float:
    """0..100; a failed document keeps the share it had reached."""
    status = doc.status if doc.status in SPANS else doc.stage
    start, end = SPANS.get(status, (0, 0))
    p = doc.progress
    if status == "extracting":
        return start + (end - start) * _fraction(p.pages_done, p.page_count or doc.page_count)
    if status == "embedding":
        return start + (end - start) * _fraction(p.chunks_embedded, p.chunk_count or doc.chunk_count)
    return start


def describe(doc: Document) -> str:
    """One line: the stage and its counters, or the outcome."""
    p = doc.progress
    if doc.status == "ready":
        pages = f"{doc.page_count} page{'s' if doc.page_count != 1 else ''}, " if doc.page_count is not None else ""
        return f"ready: {pages}{doc.chunk_count} chunks"
    if doc.status == "failed":
        code = f" ({doc.error_code})" if doc.error_code else ""
        return f"failed{code}: {doc.error or 'no reason given'}"
    if doc.status == "extracting" and (p.page_count or doc.page_count):
        return f"extracting: page {p.pages_done}/{p.page_count or doc.page_count}"
    if doc.status == "embedding" and (p.chunk_count or doc.chunk_count):
        return f"embedding: {p.chunks_embedded}/{p.chunk_count or doc.chunk_count} chunks"
    return f"{doc.status}…"
