"""SQL for retrieval: PostgreSQL full-text search over the stored `tsv` (GIN-indexed) and the
rows behind fused results. Questions are matched with OR semantics (any query term may match) and
ranked by BM25 (k1 = 1.2, b = 0.75, Lucene's defaults).

Why not `ts_rank_cd`: it has no inverse document frequency, so with OR semantics a chunk full of
common words ("associated", "patients", "increased") outranks one holding the question's rare,
specific terms. On SciFact (BEIR) that took nDCG@10 from 0.45 (ts_rank_cd) to 0.69 (BM25).

Statistics: the chunk count, mean chunk length and per-lexeme document frequencies are read from
`chunk_stats` and `lexeme_stats`, kept by triggers on `document_chunks` (migration 0004). They are
corpus-wide (every chunk, whatever its owner or status), like a search engine's per-shard
statistics, not the caller's readable subset: counting df over the caller's matching chunks
costs a scan of every chunk holding any query term, and an OR of a question's words matches most
of a large corpus (59% of the 100,000-chunk benchmark: about 5 s per query). Only readable chunks
of ready documents are returned. What leaks is aggregate: how rare a word is across the corpus
shifts a score slightly.

Candidates: the query's terms are taken rarest first while the sum of their document frequencies
stays within a budget (always at least the rarest); only chunks holding one of those terms are
scored, by the full BM25 over every query term. A chunk holding none of them can only score the
sum of the common terms' maxima (idf x (k1 + 1)), which for common words is small next to a rare
term's weight; when the picked terms yield fewer hits than asked, every term is used (exact). When
the budget covers every term (small corpora, specific questions) the ranking is exact BM25.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import psycopg

from server.auth.access import READABLE
from server.errors import ServiceUnavailable

# plainto_tsquery gives 'a' & 'b'; OR-ing the lexemes suits natural-language questions.
_TSQUERY = "replace(plainto_tsquery('english', %(q)s)::text, ' & ', ' | ')::tsquery"
BM25_K1 = 1.2
BM25_B = 0.75
# Sum of the picking terms' document frequencies: about how many chunks are scored at most
# (before the readable filter). A few thousand chunks score in tens of milliseconds.
CANDIDATE_BUDGET = 5_000
CANDIDATES_PER_HIT = 50  # the budget grows with the hits asked: at least this many chunks per hit
# A full-text query running longer is cancelled (503 search_timeout): a pathological query must
# not hold a pooled connection for seconds while other searches queue behind it.
STATEMENT_TIMEOUT_MS = 3_000


@dataclass(frozen=True)
class Term:
    lexeme: str
    df: int
    idf: float


async def lexical(
    conn: psycopg.AsyncConnection, caller_id: object, query: str, limit: int, documents: list[str] | None
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score) of the best full-text matches among readable, ready documents."""
    try:
        cur = await conn.execute(
            "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
            (str(STATEMENT_TIMEOUT_MS),),
        )
        before = (await cur.fetchone() or ("0",))[0]
        hits = await _ranked(conn, caller_id, query, limit, documents)
        await conn.execute("SELECT set_config('statement_timeout', %s, true)", (before,))
    except psycopg.errors.QueryCanceled as exc:
        raise ServiceUnavailable("The full-text search took too long; try again shortly or a more specific query.",
                                 code="search_timeout", headers={"Retry-After": "2"}) from exc
    return hits


async def _ranked(
    conn: psycopg.AsyncConnection, caller_id: object, query: str, limit: int, documents: list[str] | None
) -> list[tuple[int, float]]:
    terms, avgdl = await _terms(conn, query)
    if not terms:
        return []
    picked = pick_terms(terms, max(CANDIDATE_BUDGET, CANDIDATES_PER_HIT * limit))
    hits = await _bm25(conn, caller_id, terms, picked, avgdl, limit, documents)
    if len(hits) < limit and len(picked) < len(terms):  # a small readable set: widen to every term
        hits = await _bm25(conn, caller_id, terms, terms, avgdl, limit, documents)
    return hits


async def _terms(conn: psycopg.AsyncConnection, query: str) -> tuple[list[Term], float]:
    """The query's lexemes found in the corpus, with their document frequencies; the mean chunk length."""
    cur = await conn.execute(
        """
        SELECT s.lexeme, s.df, cs.chunks, cs.tokens
          FROM chunk_stats cs,
               (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', %(q)s))) AS lexeme) t
          JOIN lexeme_stats s USING (lexeme)
         WHERE s.df > 0
        """,
        {"q": query},
    )
    rows = await cur.fetchall()
    if not rows:
        return [], 1.0
    n, tokens = max(1, int(rows[0][2])), int(rows[0][3])
    terms = [Term(r[0], int(r[1]), math.log(1 + (n - r[1] + 0.5) / (r[1] + 0.5))) for r in rows]
    return terms, max(tokens / n, 1.0)


def pick_terms(terms: list[Term], budget: int) -> list[Term]:
    """The rarest terms whose document frequencies sum to at most `budget` (at least one)."""
    picked: list[Term] = []
    total = 0
    for term in sorted(terms, key=lambda t: (t.df, t.lexeme)):
        if picked and total + term.df > budget:
            break
        picked.append(term)
        total += term.df
    return picked


def _tsquery_text(lexemes: list[str]) -> str:
    """An OR tsquery of exact lexemes (quoted: no parsing or stemming again)."""
    return " | ".join("'" + x.replace("\\", "\\\\").replace("'", "''") + "'" for x in lexemes)


async def _bm25(
    conn: psycopg.AsyncConnection, caller_id: object, terms: list[Term], picked: list[Term], avgdl: float,
    limit: int, documents: list[str] | None,
) -> list[tuple[int, float]]:
    """BM25 over every term of `terms`, for the readable chunks holding one of `picked`."""
    doc_filter = " AND d.id = ANY(%(docs)s::uuid[])" if documents is not None else ""
    # setweight(..., 'A', lexemes) then ts_filter keeps only the query's lexemes with their positions:
    # a few entries to unnest per chunk instead of its whole tsvector.
    cur = await conn.execute(
        f"""
        WITH cand AS (
            SELECT c.id, c.token_count, c.tsv
              FROM document_chunks c JOIN documents d ON d.id = c.document_id
             WHERE c.tsv @@ %(tsq)s::tsquery AND d.status = 'ready' AND {READABLE}{doc_filter}),
        tf AS (
            SELECT cand.id, cand.token_count, u.lexeme, coalesce(array_length(u.positions, 1), 1) AS tf
              FROM cand, unnest(ts_filter(setweight(cand.tsv, 'A', %(lexemes)s::text[]), '{{a}}')) u)
        SELECT tf.id,
               sum(w.idf * tf.tf * (%(k1)s + 1)
                   / (tf.tf + %(k1)s * (1 - %(b)s + %(b)s * tf.token_count / %(avgdl)s))) AS score
          FROM tf JOIN unnest(%(lexemes)s::text[], %(idf)s::float8[]) w(lexeme, idf) USING (lexeme)
         GROUP BY tf.id
         ORDER BY score DESC, tf.id
         LIMIT %(limit)s
        """,
        {"tsq": _tsquery_text([t.lexeme for t in picked]), "lexemes": [t.lexeme for t in terms],
         "idf": [t.idf for t in terms], "avgdl": avgdl, "caller": caller_id, "docs": documents, "limit": limit,
         "k1": BM25_K1, "b": BM25_B},
    )
    return [(int(r[0]), float(r[1])) for r in await cur.fetchall()]


async def hit_rows(
    conn: psycopg.AsyncConnection, caller_id: object, chunk_ids: list[int], query: str, *, with_text: bool = False
) -> dict[int, tuple]:
    """Display rows for chunks the caller may still read (a stale index entry is dropped here)."""
    text_col = ", c.text" if with_text else ""
    cur = await conn.execute(
        f"""
        WITH q AS (SELECT {_TSQUERY} AS query)
        SELECT c.id, c.document_id::text, d.title, d.filename, c.page_start, c.page_end,
               ts_headline('english', c.text, q.query,
                           'StartSel=<mark>, StopSel=</mark>, MaxWords=40, MinWords=15, MaxFragments=2')
               {text_col}
          FROM q, document_chunks c JOIN documents d ON d.id = c.document_id
         WHERE c.id = ANY(%(ids)s) AND d.status = 'ready' AND {READABLE}
        """,
        {"q": query, "ids": chunk_ids, "caller": caller_id},
    )
    return {int(r[0]): tuple(r) for r in await cur.fetchall()}
