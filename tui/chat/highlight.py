"""Find a cited passage inside a page's text, tolerant of whitespace and of chunks that span pages."""

from __future__ import annotations

import re

from rich.text import Text

_TAGS = re.compile(r"</?mark>")
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n{2,}")
MIN_PIECE = 16


def _normalized(text: str) -> tuple[str, list[int]]:
    """Lower-cased text with whitespace runs collapsed, and each output char's index in `text`."""
    out: list[str] = []
    index: list[int] = []
    space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not space and out:
                out.append(" ")
                index.append(i)
            space = True
            continue
        space = False
        out.append(ch.lower())
        index.append(i)
    return "".join(out), index


def locate(page: str, passage: str) -> list[tuple[int, int]]:
    """Spans (start, end) of `page` that hold the passage: whole, or sentence by sentence."""
    passage = _TAGS.sub("", passage).replace("…", " ").strip()
    if not passage or not page:
        return []
    norm_page, index = _normalized(page)

    def find(piece: str) -> tuple[int, int] | None:
        norm, _ = _normalized(piece)
        norm = norm.strip()
        at = norm_page.find(norm) if norm else -1
        if at < 0:
            return None
        return index[at], index[at + len(norm) - 1] + 1

    whole = find(passage)
    if whole:
        return [whole]
    spans = [span for piece in _SENTENCE.split(passage) if len(piece.strip()) >= MIN_PIECE and (span := find(piece))]
    return _merge(sorted(spans))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and start <= out[-1][1] + 2:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def highlighted(page: str, spans: list[tuple[int, int]], style: str = "bold black on yellow") -> Text:
    text = Text(page)
    for start, end in spans:
        text.stylize(style, start, end)
    return text
