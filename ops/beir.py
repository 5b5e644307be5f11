"""BEIR-format retrieval benchmarks: loading a folder and scoring rankings against its qrels.

A BEIR folder holds `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`) and
`qrels.tsv` (a header line, then `query-id corpus-id score`; `qrels/test.tsv` is accepted too).
Metrics follow trec_eval (as BEIR reports them through pytrec_eval): nDCG with the graded
relevance as a linear gain and log2(rank + 1) discounts; recall is the share of a query's
relevant documents found in the top k. Only queries with at least one relevant document count.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Qrels = dict[str, dict[str, int]]  # query id -> corpus id -> relevance (> 0 relevant)


@dataclass(frozen=True)
class CorpusDoc:
    id: str
    title: str
    text: str

    def as_text(self) -> str:
        """The uploaded form: the title, a blank line, the text."""
        return f"{self.title}\n\n{self.text}" if self.title else self.text


@dataclass(frozen=True)
class Benchmark:
    corpus: list[CorpusDoc]
    queries: dict[str, str]  # only queries that have relevant documents
    qrels: Qrels


def _jsonl(path: Path) -> Iterable[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _qrels_path(folder: Path) -> Path:
    for candidate in (folder / "qrels.tsv", folder / "qrels" / "test.tsv", folder / "qrels" / "dev.tsv"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no qrels.tsv (or qrels/test.tsv) in {folder}")


def read_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh):
            parts = line.strip().split("\t")
            if len(parts) < 3 or (number == 0 and not parts[2].lstrip("-").isdigit()):
                continue  # the header, or a blank line
            query_id, doc_id, score = parts[0], parts[1], int(parts[2])
            if score > 0:
                qrels.setdefault(query_id, {})[doc_id] = score
    return qrels


def load(folder: Path, *, limit_queries: int | None = None, limit_corpus: int | None = None) -> Benchmark:
    """Read a BEIR folder. `limit_queries` keeps the first N judged queries; `limit_corpus` keeps
    every document relevant to a kept query, then fills up to N with others in file order."""
    qrels = read_qrels(_qrels_path(folder))
    queries = {str(q["_id"]): str(q["text"]) for q in _jsonl(folder / "queries.jsonl") if str(q["_id"]) in qrels}
    if limit_queries is not None:
        queries = dict(list(queries.items())[:limit_queries])
    qrels = {q: qrels[q] for q in queries}
    corpus = [CorpusDoc(str(d["_id"]), str(d.get("title") or ""), str(d.get("text") or ""))
              for d in _jsonl(folder / "corpus.jsonl")]
    if limit_corpus is not None:
        corpus = _limit_corpus(corpus, qrels, limit_corpus)
    return Benchmark(corpus, queries, qrels)


def _limit_corpus(corpus: list[CorpusDoc], qrels: Qrels, limit: int) -> list[CorpusDoc]:
    needed = {doc for rels in qrels.values() for doc in rels}
    room = max(0, limit - sum(1 for d in corpus if d.id in needed))
    kept: list[CorpusDoc] = []
    for doc in corpus:
        if doc.id in needed:
            kept.append(doc)
        elif room > 0:
            kept.append(doc)
            room -= 1
    return kept


def dedupe_ranking(hits: Iterable[tuple[Sequence[str], float]]) -> list[str]:
    """Corpus ids in rank order from (corpus ids of a hit's document, score) pairs: a document
    ranks by its best chunk (max score), each id once."""
    best: dict[str, tuple[float, int]] = {}
    for position, (ids, hit_score) in enumerate(hits):
        for doc_id in ids:
            old = best.get(doc_id)
            if old is None or hit_score > old[0]:
                best[doc_id] = (hit_score, position)
    return sorted(best, key=lambda d: (-best[d][0], best[d][1]))


def ndcg_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with linear gains (trec_eval's `ndcg_cut`)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranking[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(rel / math.log2(i + 2) for i, rel in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranking[:k]) & set(relevant)) / len(relevant)


def score(rankings: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10, Recall@10 and Recall@100 over the judged queries (a missing ranking scores 0)."""
    judged = [q for q in qrels if qrels[q]]
    if not judged:
        return {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "queries": 0}
    n = len(judged)
    return {
        "ndcg@10": sum(ndcg_at_k(rankings.get(q, []), qrels[q], 10) for q in judged) / n,
        "recall@10": sum(recall_at_k(rankings.get(q, []), qrels[q], 10) for q in judged) / n,
        "recall@100": sum(recall_at_k(rankings.get(q, []), qrels[q], 100) for q in judged) / n,
        "queries": n,
    }
