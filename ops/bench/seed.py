"""A large searchable corpus written straight into PostgreSQL with COPY, no ingestion.

Each chunk is one "anchor" sentence followed by 6-9 sentences drawn from the corpus; its vector
is the anchor's real MiniLM embedding plus small Gaussian noise, re-normalised. So a few thousand
real embeddings give 100,000 vectors with realistic structure, each consistent with its text.
Documents are `ready`, owned by the admin; no `vector_log` rows are written: a server starting
without an index file rebuilds its index from the database. The COPY also updates the BM25
statistics (lexeme_stats, chunk_stats: triggers of migration 0004, one aggregate per COPY), as any
write of chunks does; the seed checks they counted every chunk.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg

from ops.bench.corpus import Corpus
from ops.bench.services import ADMIN_EMAIL, ADMIN_PASSWORD
from server.auth.passwords import hash_password
from server.db import migrate
from server.db import users as users_db
from server.rag.embed import Embedder

NOISE = 0.01  # per-dimension standard deviation: cosine to the anchor ~0.98
_GIN = "document_chunks_tsv_idx"


@dataclass(frozen=True)
class Seeded:
    documents: int
    chunks: int
    anchors: int
    embed_s: float
    copy_s: float
    index_s: float


async def prepare(conninfo: str) -> uuid.UUID:
    """Migrate the database and create the benchmark's admin; return the admin's id."""
    await migrate.migrate(conninfo)
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        admin = await users_db.first_admin(conn)
        if admin is None:
            admin = await users_db.create(conn, ADMIN_EMAIL, hash_password(ADMIN_PASSWORD), "admin")
    return admin.id


def seed(conninfo: str, owner: uuid.UUID, corpus: Corpus, embedder: Embedder, *,
         documents: int, chunks_per_document: int, anchors: int, seed: int = 5) -> Seeded:
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    anchor_texts = rng.sample(corpus.sentences, min(anchors, len(corpus.sentences)))
    started = time.perf_counter()
    anchor_vectors = embed_cached(embedder, anchor_texts)
    embed_s = time.perf_counter() - started

    now = datetime.now(UTC)
    with psycopg.connect(conninfo) as conn:
        index_def = _drop_gin(conn)
        started = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy("COPY documents (id, owner, title, filename, content_type, size_bytes, sha256, storage_key,"
                          " status, stage, page_count, pages_done, chunk_count, embedding_model, ready_at)"
                          " FROM STDIN") as copy:
                doc_ids = []
                for d in range(documents):
                    doc_id = uuid.UUID(int=rng.getrandbits(128), version=4)
                    doc_ids.append(doc_id)
                    pages = chunks_per_document // 3 + 1
                    copy.write_row((doc_id, owner, f"Seeded document {d + 1}", f"seeded-{d + 1:05d}.pdf",
                                    "application/pdf", 100_000, hashlib.sha256(doc_id.bytes).hexdigest(),
                                    f"documents/{doc_id}/original", "ready", "ready", pages, pages,
                                    chunks_per_document, embedder.name, now))
            with cur.copy("COPY document_chunks (document_id, ordinal, page_start, page_end, text, token_count,"
                          " embedding, embedding_model) FROM STDIN") as copy:
                for doc_id in doc_ids:
                    picks = [rng.randrange(len(anchor_texts)) for _ in range(chunks_per_document)]
                    vectors = anchor_vectors[picks] + noise.normal(0.0, NOISE, (len(picks), anchor_vectors.shape[1]))
                    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                    for ordinal, (pick, vector) in enumerate(zip(picks, vectors.astype("<f4"), strict=True)):
                        text = " ".join([anchor_texts[pick], *rng.choices(corpus.sentences, k=rng.randint(6, 9))])
                        page = ordinal // 3 + 1
                        copy.write_row((doc_id, ordinal, page, page + (1 if ordinal % 3 == 2 else 0), text,
                                        len(text.split()) * 4 // 3, vector.tobytes(), embedder.name))
        conn.commit()
        copy_s = time.perf_counter() - started
        counted = conn.execute("SELECT chunks FROM chunk_stats").fetchone()
        total = conn.execute("SELECT count(*) FROM document_chunks").fetchone()
        if counted != total:
            raise RuntimeError(f"the BM25 statistics count {counted} chunks, the table holds {total}")
        started = time.perf_counter()
        if index_def:
            conn.execute(index_def)
        conn.execute("ANALYZE documents")
        conn.execute("ANALYZE document_chunks")
        conn.commit()
        index_s = time.perf_counter() - started
    return Seeded(documents, documents * chunks_per_document, len(anchor_texts), embed_s, copy_s, index_s)


def embed_cached(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """`embedder.embed(texts)`, kept in the user's cache directory: the next run reuses it."""
    key = hashlib.sha256("\x00".join([embedder.name, *texts]).encode()).hexdigest()[:24]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "docman-bench" / f"embeddings-{key}.npy"
    if cache.exists():
        return np.load(cache)
    vectors = embedder.embed(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def _drop_gin(conn: psycopg.Connection) -> str | None:
    """Drop the full-text index for the bulk load; return its definition to recreate it after."""
    row = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (_GIN,)).fetchone()
    if row is None:
        return None
    conn.execute(f"DROP INDEX {_GIN}")
    return str(row[0])
