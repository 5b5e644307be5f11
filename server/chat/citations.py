"""[n] citation markers: finding the ones an answer uses and turning sources into `Citation`s."""

from __future__ import annotations

import re
from collections.abc import Sequence

from server.chat.sources import Source
from shared.models.chat import Citation

# [3], [1, 2], [1; 4], [2-4] (also with an en dash)
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*(?:[,;]|[-–])\s*\d{1,3})*)\]")


def cited_numbers(text: str, count: int) -> list[int]:
    """The source numbers (1..count) cited in `text`, in order of first use, each once."""
    seen: list[int] = []
    for m in _MARKER.finditer(text):
        for part in re.split(r"\s*[,;]\s*", m.group(1)):
            bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part)]
            numbers = range(bounds[0], bounds[-1] + 1) if len(bounds) == 2 and bounds[1] - bounds[0] < 20 else bounds[:1]
            for n in numbers:
                if 1 <= n <= count and n not in seen:
                    seen.append(n)
    return seen


def strip_markers(text: str) -> str:
    """`text` without its [n] markers (earlier answers in a prompt must not cite stale numbers)."""
    return re.sub(r"\s?" + _MARKER.pattern, "", text)


def to_citation(n: int, source: Source) -> Citation:
    hit = source.hit
    return Citation(
        n=n, document_id=hit.document_id, title=hit.title, filename=hit.filename,
        page_start=source.page_start, page_end=source.page_end, chunk_id=hit.chunk_id,
        snippet=source.snippet, text=source.text, score=hit.score,
    )


def numbered(sources: Sequence[Source]) -> list[Citation]:
    """Every source as a citation numbered 1..n in order."""
    return [to_citation(i, s) for i, s in enumerate(sources, start=1)]


def cited(sources: Sequence[Source], numbers: Sequence[int]) -> list[Citation]:
    """Only the cited sources, keeping their original numbers, in number order."""
    return [to_citation(n, sources[n - 1]) for n in sorted(numbers)]
