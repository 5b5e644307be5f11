"""SQL for stored embeddings and the vector change log (`vector_log`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
import psycopg


# The chunks the vector index must hold: embedded chunks of ready documents.
INDEXED = "document_chunks c JOIN documents d ON d.id = c.document_id WHERE d.status = 'ready' AND c.embedding IS NOT NULL"


@dataclass(frozen=True)
class LogEntry:
    seq: int
    op: str
    document_id: str
    chunk_ids: list[int]


def decode(blob: bytes, dim: int) -> np.ndarray:
    vec = np.frombuffer(blob, dtype="<f4")
    if vec.size != dim:
        raise ValueError(f"stored embedding has {vec.size} dimensions, expected {dim}")
    return vec


def encode(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


async def log_after(conn: psycopg.AsyncConnection, seq: int, limit: int) -> list[LogEntry]:
    cur = await conn.execute(
        "SELECT seq, op, coalesce(document_id::text, ''), chunk_ids FROM vector_log"
        " WHERE seq > %s ORDER BY seq LIMIT %s",
        (seq, limit),
    )
    return [LogEntry(r[0], r[1], r[2], list(r[3] or [])) for r in await cur.fetchall()]


async def append(conn: psycopg.AsyncConnection, op: str, document_id: str | None, chunk_ids: list[int] | None = None) -> None:
    await conn.execute(
        "INSERT INTO vector_log (op, document_id, chunk_ids) VALUES (%s, %s, %s)",
        (op, document_id, chunk_ids or []),
    )


async def chunk_ids_of(conn: psycopg.AsyncConnection, document_id: str) -> list[int]:
    cur = await conn.execute("SELECT id FROM document_chunks WHERE document_id = %s", (document_id,))
    return [r[0] for r in await cur.fetchall()]


async def indexed_ids(conn: psycopg.AsyncConnection) -> np.ndarray:
    """Ids of every chunk the index must hold."""
    cur = await conn.execute(f"SELECT c.id FROM {INDEXED}")
    rows = await cur.fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


async def indexed_count(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute(f"SELECT count(*) FROM {INDEXED}")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def sample_embeddings(conn: psycopg.AsyncConnection, n: int) -> list[tuple[int, bytes]]:
    """Up to n random (chunk id, stored embedding) pairs from what the index must hold."""
    cur = await conn.execute(f"SELECT c.id, c.embedding FROM {INDEXED} ORDER BY random() LIMIT %s", (n,))
    return [(int(r[0]), bytes(r[1])) for r in await cur.fetchall()]


async def document_embeddings(conn: psycopg.AsyncConnection, document_id: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and vectors of a ready document's embedded chunks (empty if it is not ready)."""
    cur = await conn.execute(
        f"SELECT c.id, c.embedding FROM {INDEXED} AND c.document_id = %s ORDER BY c.id",
        (document_id,),
    )
    rows = await cur.fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.empty((len(rows), dim), dtype=np.float32)
    for i, r in enumerate(rows):
        vectors[i] = decode(r[1], dim)
    return ids, vectors


@asynccontextmanager
async def snapshot(conn: psycopg.AsyncConnection) -> AsyncIterator[int]:
    """A REPEATABLE READ transaction; yields the log position its reads agree with."""
    await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
    try:
        async with conn.transaction():
            cur = await conn.execute("SELECT coalesce(max(seq), 0) FROM vector_log")
            row = await cur.fetchone()
            yield int(row[0]) if row else 0
    finally:
        await conn.set_isolation_level(None)


async def ready_embeddings(
    conn: psycopg.AsyncConnection, dim: int, batch: int = 2000
) -> AsyncIterator[tuple[str, np.ndarray, np.ndarray]]:
    """Every ready document's embeddings, one (document_id, ids, vectors) at a time."""
    current: str | None = None
    ids: list[int] = []
    vecs: list[np.ndarray] = []
    async with conn.cursor(name="ready_embeddings") as named:
        named.itersize = batch
        await named.execute(
            f"SELECT c.document_id::text, c.id, c.embedding FROM {INDEXED} ORDER BY c.document_id, c.id"
        )
        async for doc, cid, blob in named:
            if doc != current and current is not None:
                yield current, np.array(ids, np.int64), np.vstack(vecs)
                ids, vecs = [], []
            current = doc
            ids.append(cid)
            vecs.append(decode(blob, dim))
    if current is not None:
        yield current, np.array(ids, np.int64), np.vstack(vecs)
