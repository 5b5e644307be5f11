"""SQL for retrieval: PostgreSQL full-text search over the stored `tsv` (GIN-indexed) and the
rows behind fused results. Questions are matched with OR semantics (any query term may match) and
ranked by BM25 (k1 = 1.2, b = 0.75, Lucene's defaults), computed in SQL from the tsvectors.

Why not `ts_rank_cd`: it has no inverse document frequency, so with OR semantics a chunk full of
common words ("associated", "patients", "increased") outranks one holding the question's rare,
specific terms. On SciFact (BEIR) that took nDCG@10 from 0.45 (ts_rank_cd) to 0.69 (BM25).

The statistics (chunk count, mean chunk length, document frequencies) are those of the collection
searched: the caller's readable, ready chunks (within `documents` when given), so scores reveal
nothing about documents the caller cannot read. Document frequencies come from the candidates
themselves: a chunk holding a query term matches the OR query, so every one is a candidate.
"""

from __future__ import annotations

import psycopg

from server.auth.access import READABLE

# plainto_tsquery gives 'a' & 'b'; OR-ing the lexemes suits natural-language questions.
_TSQUERY = "replace(plainto_tsquery('english', %(q)s)::text, ' & ', ' | ')::tsquery"
BM25_K1 = 1.2
BM25_B = 0.75


async def lexical(
    conn: psycopg.AsyncConnection, caller_id: object, query: str, limit: int, documents: list[str] | None
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score) of the best full-text matches among readable, ready documents."""
    doc_filter = " AND d.id = ANY(%(docs)s::uuid[])" if documents is not None else ""
    searched = f"document_chunks c JOIN documents d ON d.id = c.document_id WHERE d.status = 'ready' AND {READABLE}{doc_filter}"
    cur = await conn.execute(
        f"""
        WITH q AS (SELECT {_TSQUERY} AS query,
                          array(SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', %(q)s)))) AS terms),
        stats AS (SELECT count(*)::float8 AS n, coalesce(avg(c.token_count), 1)::float8 AS avgdl FROM {searched}),
        cand AS (SELECT c.id, c.token_count, c.tsv FROM q, {searched} AND c.tsv @@ q.query),
        tf AS (SELECT cand.id, cand.token_count, u.lexeme, coalesce(array_length(u.positions, 1), 1) AS tf
                 FROM cand, q, unnest(cand.tsv) u WHERE u.lexeme = ANY(q.terms)),
        df AS (SELECT lexeme, count(*)::float8 AS df FROM tf GROUP BY lexeme)
        SELECT tf.id,
               sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5)) * tf.tf * (%(k1)s + 1)
                   / (tf.tf + %(k1)s * (1 - %(b)s + %(b)s * tf.token_count / s.avgdl))) AS score
          FROM tf JOIN df USING (lexeme), stats s
         GROUP BY tf.id
         ORDER BY score DESC, tf.id
         LIMIT %(limit)s
        """,
        {"q": query, "caller": caller_id, "docs": documents, "limit": limit, "k1": BM25_K1, "b": BM25_B},
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
