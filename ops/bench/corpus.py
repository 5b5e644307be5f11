"""Text for benchmarks: real sentences from SciFact abstracts when `shared/data` is beside the repo,
else synthetic sentences over a Zipf-distributed vocabulary of a few thousand made-up words."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from server.rag.chunk import split_sentences

SCIFACT_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "scifact-dev"
_SYLLABLES = ("ka ri to mi na su le po an ve di ro ta ne si lo mu ga be ze fi co da pe qui "
              "ral tor men cal bis por ten gra lin dus mor vel sta").split()


@dataclass(frozen=True)
class Corpus:
    source: str
    sentences: list[str]
    queries: list[str]  # natural questions over the same vocabulary


def load(seed: int = 7, max_sentences: int = 60_000) -> Corpus:
    if (SCIFACT_DIR / "corpus.jsonl").exists():
        return _scifact(seed, max_sentences)
    return _synthetic(seed, max_sentences)


def _scifact(seed: int, max_sentences: int) -> Corpus:
    sentences: list[str] = []
    with (SCIFACT_DIR / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            sentences.extend(s for s in split_sentences(doc["text"]) if 40 <= len(s) <= 400)
            if len(sentences) >= max_sentences:
                break
    queries: list[str] = []
    qpath = SCIFACT_DIR / "queries.jsonl"
    if qpath.exists():
        with qpath.open(encoding="utf-8") as f:
            queries = [json.loads(line)["text"] for line in f]
    random.Random(seed).shuffle(queries)
    return Corpus("SciFact abstracts (shared/data/scifact-dev)", sentences, queries)


def _synthetic(seed: int, count: int) -> Corpus:
    rng = random.Random(seed)
    vocab = sorted({"".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(4000)})
    rng.shuffle(vocab)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]  # Zipf, s = 1

    def sentence(low: int, high: int) -> str:
        words = rng.choices(vocab, weights, k=rng.randint(low, high))
        return " ".join(words).capitalize() + "."

    sentences = [sentence(8, 28) for _ in range(count)]
    queries = [sentence(4, 10).rstrip(".") + "?" for _ in range(1000)]
    return Corpus("synthetic Zipf vocabulary", sentences, queries)


def paragraphs(rng: random.Random, sentences: list[str], count: int) -> list[str]:
    """`count` paragraphs of 3-6 sentences drawn from `sentences`."""
    return [" ".join(rng.choices(sentences, k=rng.randint(3, 6))) for _ in range(count)]
