"""Token-aware chunking along paragraph and sentence boundaries, keeping page ranges.

Streaming: pages are pulled one at a time (plus at most one page of look-ahead for a sentence
that runs over a page break) and each chunk is yielded as soon as it is full. `count_tokens`
is called once per sentence (and a few times per over-long sentence), then once per chunk.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from server.rag.extract import Page

CountTokens = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Chunk:
    ordinal: int
    page_start: int
    page_end: int
    text: str
    token_count: int


@dataclass(frozen=True, slots=True)
class _Unit:
    """A sentence (or a piece of an over-long one): the smallest thing a chunk is packed from."""

    text: str
    page_start: int
    page_end: int
    paragraph: int
    tokens: int


_ABBREVIATIONS = frozenset(
    "e.g i.e al fig figs eq eqs ref refs sec secs ch chap vol vols no nos p pp ed eds cf vs "
    "approx ca dept est mr mrs ms dr prof st jr sr inc ltd co corp jan feb mar apr jun jul aug sep "
    "sept oct nov dec u.s u.k ph.d a.m p.m resp tab viz".split()
)
# A candidate sentence end: terminal punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"([.!?…]+)[\"'”’)\]]*\s+|(?<=[。！？])\s*")
_OPENERS = "\"'“‘(["
_LAST_WORD = re.compile(r"(\S+)$")
_LIST_ITEM = re.compile(r"\n[ \t]*(?=(?:[-*•·▪‣◦–]|\d{1,3}[.)])\s)")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?…。！？:][\"'”’)\]]*$")


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences; abbreviations, initials and decimals do not end one."""
    parts = _LIST_ITEM.split(paragraph.strip())  # list items become sentences of their own
    out: list[str] = []
    for part in parts:
        start = 0
        for m in _BOUNDARY.finditer(part):
            if m.end() >= len(part) or not _is_boundary(part, m):
                continue
            out.append(part[start:m.end()])
            start = m.end()
        out.append(part[start:])
    return [s for s in (" ".join(p.split()) for p in out) if s]


def _is_boundary(text: str, m: re.Match[str]) -> bool:
    punct = m.group(1)
    if punct is None or punct[-1] in "!?":  # CJK full stops, "?" and "!" always end a sentence
        return True
    if not _starts_sentence(text, m.end()):
        return False  # "e.g. the", "approx. five": lower case goes on
    if punct != ".":  # "..." before a capital
        return True
    word = _LAST_WORD.search(text, max(0, m.start(1) - 40), m.start(1))  # bounded: no O(n^2)
    token = (word.group(1) if word else "").lstrip(_OPENERS).lower()
    if token in _ABBREVIATIONS or token.rstrip(".") in _ABBREVIATIONS:
        return False
    return not (len(token) == 1 and token.isalpha())  # initials: "J. Smith"


def _starts_sentence(text: str, pos: int) -> bool:
    while pos < len(text) and text[pos] in _OPENERS:
        pos += 1
    return pos < len(text) and not text[pos].islower()


def chunk_pages(
    pages: Iterable[Page],
    count_tokens: CountTokens,
    *,
    target_tokens: int = 256,
    overlap_tokens: int = 40,
) -> Iterator[Chunk]:
    """Pack sentences into chunks of at most `target_tokens`, carrying up to `overlap_tokens` over."""
    if target_tokens < 1 or not 0 <= overlap_tokens < target_tokens:
        raise ValueError("need target_tokens >= 1 and 0 <= overlap_tokens < target_tokens")
    base = count_tokens("")  # fixed cost of any text (special tokens), not paid per sentence
    budget = target_tokens - base
    if budget < 1:
        raise ValueError(f"target_tokens={target_tokens} leaves no room after {base} fixed tokens")
    units = _units(pages, lambda s: max(count_tokens(s) - base, 0), budget)
    pending: deque[_Unit] = deque()  # units handed back by the final size check
    window: list[_Unit] = []
    used = fresh = 0  # tokens in `window`; units in it not already emitted in an earlier chunk
    ordinal = 0

    def next_unit() -> _Unit | None:
        return pending.popleft() if pending else next(units, None)

    while (unit := next_unit()) is not None or fresh:
        if unit is not None and not (fresh and used + unit.tokens > budget):
            while window and used + unit.tokens > budget:  # carried overlap must leave room
                used -= window.pop(0).tokens
            window.append(unit)
            used, fresh = used + unit.tokens, fresh + 1
            continue
        if unit is not None:
            pending.appendleft(unit)
        text = _join(window)
        while (tokens := count_tokens(text)) > target_tokens and fresh > 1:  # sums are estimates
            pending.appendleft(window.pop())
            fresh -= 1
            text = _join(window)
        yield Chunk(ordinal, window[0].page_start, max(u.page_end for u in window), text, tokens)
        ordinal += 1
        window, fresh = _overlap(window, overlap_tokens), 0
        used = sum(u.tokens for u in window)


def _overlap(window: list[_Unit], overlap_tokens: int) -> list[_Unit]:
    """The last whole sentences of `window` whose tokens fit in `overlap_tokens`."""
    kept: list[_Unit] = []
    total = 0
    for unit in reversed(window):
        if total + unit.tokens > overlap_tokens:
            break
        kept.append(unit)
        total += unit.tokens
    return kept[::-1]


def _join(window: list[_Unit]) -> str:
    parts: list[str] = []
    for i, unit in enumerate(window):
        if i:
            parts.append("\n\n" if unit.paragraph != window[i - 1].paragraph else " ")
        parts.append(unit.text)
    return "".join(parts)


def _units(pages: Iterable[Page], count: CountTokens, budget: int) -> Iterator[_Unit]:
    """Sentences of all pages in order; a sentence cut by a page break is joined to its end."""
    paragraph = 0
    carry: tuple[str, int] | None = None  # unfinished last sentence of the previous page, its page
    for page in pages:
        paras = [p for p in _PARAGRAPHS.split(page.text) if p.strip()]
        if carry and not paras:  # an empty page: nothing to continue
            yield from _sentence_units(carry[0], carry[1], carry[1], paragraph, count, budget)
            paragraph, carry = paragraph + 1, None
        for i, para in enumerate(paras):
            sentences = split_sentences(para)
            firsts = [page.number] * len(sentences)
            if i == 0 and carry:
                sentences[0], firsts[0], carry = _glue(carry[0], sentences[0]), carry[1], None
            if i == len(paras) - 1 and firsts[-1] == page.number and not _SENTENCE_END.search(sentences[-1]):
                carry = (sentences.pop(), firsts.pop())  # may go on on the next page (once)
            for sentence, first in zip(sentences, firsts):
                yield from _sentence_units(sentence, first, page.number, paragraph, count, budget)
            if carry is None:
                paragraph += 1
    if carry:
        yield from _sentence_units(carry[0], carry[1], carry[1], paragraph, count, budget)


def _glue(head: str, tail: str) -> str:
    """Join a sentence cut by a page break; "exam-" + "ple" gives "example"."""
    if head.endswith("-") and head[-2:-1].isalpha() and tail[:1].islower():
        return head[:-1] + tail
    return f"{head} {tail}"


def _sentence_units(
    sentence: str, page_start: int, page_end: int, paragraph: int, count: CountTokens, budget: int
) -> Iterator[_Unit]:
    for piece, tokens in _fit(sentence, count, budget):
        yield _Unit(piece, page_start, page_end, paragraph, tokens)


def _fit(text: str, count: CountTokens, budget: int) -> Iterator[tuple[str, int]]:
    """`text` with its token count, halved on word (else character) boundaries until each piece fits."""
    tokens = count(text)
    if tokens <= budget:
        yield text, tokens
        return
    words = text.split(" ")
    if len(words) > 1:
        mid = len(words) // 2
        halves = (" ".join(words[:mid]), " ".join(words[mid:]))
    elif len(text) > 1:  # one enormous "word" (a URL, CJK text): cut by characters
        halves = (text[: len(text) // 2], text[len(text) // 2 :])
    else:
        yield text, tokens  # a single character over budget: nothing smaller exists
        return
    for half in halves:
        yield from _fit(half, count, budget)
