"""Extractive answers, when no LLM is configured: the most relevant sentences of the top sources,
quoted verbatim, each followed by the [n] of its source.

A sentence scores by the share of the query's terms it holds (stemmed, stop words ignored) plus a
bonus for its source's rank. It must hold more than a third of them (by weight) to count. When a
follow-up was rewritten, terms carried over from earlier questions weigh half, and a sentence must
hold at least one term of the question actually asked: "what about its energy?" after a question
on a battery's capacity quotes the energy sentence, not the capacity one again. Two to four
sentences are picked, from distinct sources when there are enough good ones; one that scores
below half of the best is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from server.chat.sources import Source
from server.chat.text import term_set, words

INTRO = "Extractive answer (no language model is configured): sentences quoted from your documents."
NO_ANSWER = "The documents don't contain an answer to this question: no passage in them matches it."
MAX_SENTENCES = 4
MIN_SENTENCES = 2
RANK_WEIGHT = 0.3
CONTEXT_WEIGHT = 0.5  # a term carried over from an earlier question
MIN_COVERAGE = 1 / 3
KEEP_RATIO = 0.5  # of the best score
MIN_WORDS = 3


@dataclass(frozen=True)
class _Candidate:
    score: float
    n: int  # the source's number
    sentence: str


@dataclass
class Extract:
    pieces: list[str]  # streamed one by one; joined they are the answer
    cited: list[int]  # source numbers quoted, in order of use

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _candidates(weights: dict[str, float], focus: set[str], sources: Sequence[Source]) -> list[_Candidate]:
    total = sum(weights.values())
    out = []
    for rank, source in enumerate(sources):
        for sentence in source.sentences:
            terms = term_set(sentence)
            if focus and not focus & terms:
                continue
            coverage = sum(w for t, w in weights.items() if t in terms) / total
            if coverage > MIN_COVERAGE and len(words(sentence)) >= MIN_WORDS:
                out.append(_Candidate(coverage + RANK_WEIGHT / (rank + 1), rank + 1, sentence))
    return sorted(out, key=lambda c: (-c.score, c.n))


def _pick(candidates: list[_Candidate]) -> list[_Candidate]:
    if not candidates:
        return []
    floor = candidates[0].score * KEEP_RATIO
    good = [c for c in candidates if c.score >= floor]
    picked: list[_Candidate] = []
    texts: set[str] = set()
    for distinct in (True, False):  # first one per source; then more from the same, up to the minimum
        for c in good:
            limit = MAX_SENTENCES if distinct else MIN_SENTENCES
            if len(picked) >= limit:
                break
            if c.sentence in texts or (distinct and any(p.n == c.n for p in picked)):
                continue
            picked.append(c)
            texts.add(c.sentence)
    return picked


def build(query: str, sources: Sequence[Source], question: str | None = None) -> Extract:
    """The answer to `query` (the standalone search query); `question` is what was actually asked."""
    focus = term_set(question) if question else set()
    weights = {t: 1.0 if not focus or t in focus else CONTEXT_WEIGHT for t in term_set(query) | focus}
    if not weights:  # nothing but stop words: match them
        weights = {w: 1.0 for w in words(query)}
    picked = _pick(_candidates(weights, focus, sources)) if weights else []
    if not picked:
        return Extract([NO_ANSWER], [])
    pieces = [INTRO + "\n\n"] + [f"- {c.sentence} [{c.n}]\n" for c in picked]
    cited: list[int] = []
    for c in picked:
        if c.n not in cited:
            cited.append(c.n)
    return Extract(pieces, cited)
