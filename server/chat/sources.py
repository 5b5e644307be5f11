"""Sources for an answer: retrieved chunks made page-precise and free of repeats.

A chunk can run over several pages (short pages, or a chunk crossing a page break). A citation
should point at the page that holds the quoted text, so such a chunk is split into one passage
per page, by locating its sentences in the stored page texts; within the chunk, passages sharing
more terms with the query come first. Chunks keep their retrieval rank. Sentences already given
by a better-ranked chunk (chunks overlap) are left out, and a passage left empty is dropped.
When a chunk's sentences cannot all be located, it stays whole with its page range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.chat.text import sentences, squash, term_set
from server.db import documents as docs_db
from server.rag.retrieve import Retrieved
from server.runtime import Runtime

SNIPPET_CHARS = 240


@dataclass
class Source:
    hit: Retrieved  # the chunk it comes from
    page_start: int
    page_end: int
    sentences: list[str]
    whole_chunk: bool = True  # False: the part of the chunk on these pages

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    @property
    def snippet(self) -> str:
        if self.whole_chunk and self.hit.snippet:
            return self.hit.snippet
        text = self.text
        return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


def _find(probe: str, pages: dict[int, str], page: int, offset: int, last: int) -> tuple[int, int] | None:
    for n in range(page, last + 1):
        pos = pages.get(n, "").find(probe, offset if n == page else 0)
        if pos >= 0:
            return n, pos
    return None


def _probes(sentence: str) -> list[str]:
    """Ever shorter starts of a sentence (whole words): the start of one cut by a page break is on
    its first page even when the rest is not."""
    out = []
    for size in (60, 25, 12):
        probe = sentence if len(sentence) <= size else sentence[:size].rsplit(" ", 1)[0]
        if probe and probe not in out:
            out.append(probe)
    return out


def split_by_page(text: str, first: int, last: int, page_texts: dict[int, str]) -> list[tuple[int, int, list[str]]] | None:
    """(page_start, page_end, sentences) runs of `text`'s sentences by the page each starts on;
    None when a sentence cannot be found in the pages first..last."""
    pages = {n: squash(page_texts.get(n, "")) for n in range(first, last + 1)}
    page, offset = first, 0
    runs: list[tuple[int, int, list[str]]] = []
    for sentence in sentences(text):
        where = next((w for probe in _probes(sentence) if (w := _find(probe, pages, page, offset, last))), None)
        if where is None:
            return None
        page, pos = where
        continues = pages[page][pos:pos + len(sentence)] != sentence and page < last  # runs over a page break
        end = page + 1 if continues else page
        if runs and runs[-1][0] == page:
            runs[-1] = (page, max(runs[-1][1], end), [*runs[-1][2], sentence])
        else:
            runs.append((page, end, [sentence]))
        offset = pos + 1
    return runs


def _passages(hit: Retrieved, page_texts: dict[tuple[str, int], str], query_terms: set[str]) -> list[Source]:
    if hit.page_end > hit.page_start:
        texts = {n: page_texts.get((hit.document_id, n), "") for n in range(hit.page_start, hit.page_end + 1)}
        runs = split_by_page(hit.text, hit.page_start, hit.page_end, texts)
        if runs is not None and len(runs) > 1:
            parts = [Source(hit, lo, hi, ss, whole_chunk=False) for lo, hi, ss in runs]
            return sorted(parts, key=lambda s: -len(query_terms & term_set(s.text)))
    return [Source(hit, hit.page_start, hit.page_end, sentences(hit.text))]


async def build(rt: Runtime, hits: Sequence[Retrieved], query: str) -> list[Source]:
    """Page-precise, de-duplicated passages of `hits` (retrieved with text), best first."""
    multi = [(h.document_id, h.page_start, h.page_end) for h in hits if h.page_end > h.page_start]
    page_texts: dict[tuple[str, int], str] = {}
    if multi:
        async with rt.pool.connection() as conn:
            page_texts = await docs_db.pages_in_ranges(conn, multi)
    query_terms = term_set(query)
    given: set[tuple[str, str]] = set()  # (document id, sentence) already in an earlier passage
    out: list[Source] = []
    for hit in hits:
        for source in _passages(hit, page_texts, query_terms):
            fresh = [s for s in source.sentences if (hit.document_id, s) not in given]
            if not fresh:
                continue
            given.update((hit.document_id, s) for s in fresh)
            if len(fresh) < len(source.sentences):
                source.sentences, source.whole_chunk = fresh, False
            out.append(source)
    return out
