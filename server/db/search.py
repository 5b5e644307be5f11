"""SQL for retrieval: PostgreSQL full-text search over the stored `tsv` (GIN-indexed) and the
rows behind fused results. Questions are matched with OR semantics (any query term may match),
ranked by ts_rank_cd with length normalisation."""

from __future__ import annotations

import psycopg

from server.auth.access import READABLE

# plainto_tsquery gives 'a' & 'b'; OR-ing the lexemes suits natural-language questions.
_TSQUERY = "replace(plainto_tsquery('english', %(q)s)::text, ' & ', ' | ')::tsquery"


async def lexical(
    conn: psycopg.AsyncConnection, caller_id: object, query: str, limit: int, documents: list[str] | None
) -> list[tuple[int, float]]:
    """(chunk id, rank) of the best full-text matches among readable, ready documents."""
    doc_filter = " AND d.id = ANY(%(docs)s::uuid[])" if documents is not None else ""
    cur = await conn.execute(
        f"""
        WITH q AS (SELECT {_TSQUERY} AS query)
        SELECT c.id, ts_rank_cd(c.tsv, q.query, 1 | 4) AS rank
          FROM q, document_chunks c JOIN documents d ON d.id = c.document_id
         WHERE c.tsv @@ q.query AND d.status = 'ready' AND {READABLE}{doc_filter}
         ORDER BY rank DESC, c.id
         LIMIT %(limit)s
        """,
        {"q": query, "caller": caller_id, "docs": documents, "limit": limit},
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
