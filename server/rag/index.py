"""The FAISS vector index of one process, kept in step with PostgreSQL.

PostgreSQL is the source of truth: chunk embeddings live in `document_chunks`, and every change
to the set of searchable chunks is appended to `vector_log`. Each process replays that log into
its own `IndexIDMap2` (inner product over L2-normalised vectors, ids = chunk ids), so API replicas
stay in step, deletions included. The index is saved atomically (temp file + rename) with a
sidecar recording the model, the dimension, the last applied log position and a checksum; a
missing, corrupt or foreign file is rebuilt from the database instead of failing the start.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from loguru import logger
from psycopg_pool import AsyncConnectionPool

from server.db import vectors as vdb

INDEX_FILE = "faiss.index"
META_FILE = "faiss.meta.json"
DOCMAP_FILE = "faiss.docmap.npz"


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    score: float


class IndexFileError(Exception):
    """The saved index cannot be used (missing, corrupt, or built for another model)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


class VectorIndex:
    def __init__(self, directory: Path, dim: int, model: str) -> None:
        self.directory = directory
        self.dim = dim
        self.model = model
        self.loaded = False
        self.status = "loading"
        self.applied_seq = 0
        self.last_sync = 0.0
        self.last_error: str | None = None
        self._lock = threading.RLock()
        self._index = self._empty()
        self._docs: dict[str, np.ndarray] = {}
        self._dirty = False
        self._sync_lock: asyncio.Lock | None = None

    # ------------------------------------------------------------ state

    def _empty(self) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def document_ids(self) -> list[str]:
        with self._lock:
            return list(self._docs)

    def vectors_for(self, document_id: str) -> int:
        with self._lock:
            ids = self._docs.get(document_id)
            return 0 if ids is None else int(ids.size)

    def all_ids(self) -> np.ndarray:
        with self._lock:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def describe(self) -> str:
        lag = f"; synced {time.time() - self.last_sync:.1f}s ago" if self.last_sync else ""
        return f"{self.ntotal} vectors, {len(self._docs)} documents, dim {self.dim}, log seq {self.applied_seq}{lag}"

    # ------------------------------------------------------------ mutation (log replay)

    def _remove(self, ids: np.ndarray) -> None:
        if ids.size:
            self._index.remove_ids(faiss.IDSelectorBatch(ids.astype(np.int64)))

    def replace_document(self, document_id: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Make `ids`/`vectors` the document's only vectors (idempotent, so replays are safe)."""
        with self._lock:
            old = self._docs.pop(document_id, None)
            if old is not None:
                self._remove(old)
            if ids.size:
                self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
                self._docs[document_id] = ids.astype(np.int64)
            self._dirty = True

    def remove_document(self, document_id: str, ids: np.ndarray | None = None) -> None:
        with self._lock:
            known = self._docs.pop(document_id, None)
            gone = known if known is not None else np.empty(0, np.int64)
            if ids is not None and ids.size:
                gone = np.union1d(gone, ids.astype(np.int64))
            self._remove(gone)
            self._dirty = True

    def reset(self) -> None:
        with self._lock:
            self._index = self._empty()
            self._docs = {}
            self._dirty = True

    # ------------------------------------------------------------ search

    def search(self, vector: np.ndarray, k: int, documents: set[str] | None = None) -> list[Hit]:
        """Top-k chunks by inner product; `documents` restricts to those document ids."""
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        with self._lock:
            if self._index.ntotal == 0:
                return []
            params = None
            if documents is not None:
                arrays = [self._docs[d] for d in documents if d in self._docs]
                if not arrays:
                    return []
                if len(arrays) < len(self._docs):
                    allowed = np.concatenate(arrays)
                    params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
                    k = min(k, int(allowed.size))
            k = min(k, int(self._index.ntotal))
            scores, ids = self._index.search(query, k, params=params)
        return [Hit(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    # ------------------------------------------------------------ persistence

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            index_path = self.directory / INDEX_FILE
            _atomic_write(index_path, lambda p: faiss.write_index(self._index, str(p)))
            docs = list(self._docs)
            lengths = np.array([self._docs[d].size for d in docs], dtype=np.int64)
            flat = np.concatenate([self._docs[d] for d in docs]) if docs else np.empty(0, np.int64)

            def write_docmap(p: Path) -> None:
                with p.open("wb") as f:
                    np.savez(f, docs=np.array(docs, dtype="U36"), lengths=lengths, ids=flat)

            _atomic_write(self.directory / DOCMAP_FILE, write_docmap)
            meta = {
                "model": self.model,
                "dim": self.dim,
                "applied_seq": self.applied_seq,
                "ntotal": self.ntotal,
                "sha256": _sha256(index_path),
                "docmap_sha256": _sha256(self.directory / DOCMAP_FILE),
                "saved_at": time.time(),
            }
            _atomic_write(self.directory / META_FILE, lambda p: p.write_text(json.dumps(meta)))
            self._dirty = False

    def load_file(self) -> None:
        """Load the saved index, or raise IndexFileError saying why it cannot be used."""
        index_path, meta_path, docmap_path = (self.directory / n for n in (INDEX_FILE, META_FILE, DOCMAP_FILE))
        if not index_path.exists() or not meta_path.exists() or not docmap_path.exists():
            raise IndexFileError(f"no saved index under {self.directory}")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise IndexFileError(f"unreadable index metadata: {exc}") from None
        if meta.get("model") != self.model or meta.get("dim") != self.dim:
            raise IndexFileError(
                f"index built for {meta.get('model')}/{meta.get('dim')}, configured {self.model}/{self.dim}"
            )
        if _sha256(index_path) != meta.get("sha256") or _sha256(docmap_path) != meta.get("docmap_sha256"):
            raise IndexFileError("index file checksum mismatch (corrupt or partially written)")
        try:
            index = faiss.read_index(str(index_path))
            with np.load(docmap_path) as z:
                docs, lengths, flat = z["docs"], z["lengths"], z["ids"]
        except Exception as exc:
            raise IndexFileError(f"index file unreadable: {exc}") from None
        if index.ntotal != meta.get("ntotal") or index.d != self.dim or int(lengths.sum()) != index.ntotal:
            raise IndexFileError("index file does not match its metadata")
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        with self._lock:
            self._index = faiss.IndexIDMap2(index) if not isinstance(index, faiss.IndexIDMap2) else index
            self._docs = {str(d): flat[offsets[i] : offsets[i + 1]].copy() for i, d in enumerate(docs)}
            self.applied_seq = int(meta["applied_seq"])
            self._dirty = False

    # ------------------------------------------------------------ database

    async def rebuild(self, pool: AsyncConnectionPool) -> None:
        """Build a new index from every ready document's stored embeddings, then swap it in."""
        started = time.perf_counter()
        fresh = VectorIndex(self.directory, self.dim, self.model)
        async with pool.connection() as conn, vdb.snapshot(conn) as seq:
            async for document_id, ids, vectors in vdb.ready_embeddings(conn, self.dim):
                await asyncio.to_thread(fresh.replace_document, document_id, ids, vectors)
        fresh.applied_seq = seq
        self.adopt(fresh)
        logger.info("vector index rebuilt from the database: {} vectors in {:.1f}s", self.ntotal, time.perf_counter() - started)

    def adopt(self, other: VectorIndex) -> None:
        """Take over another index's vectors and log position (a rebuild or a restored backup)."""
        with self._lock:
            self._index, self._docs = other._index, other._docs
            self.applied_seq = other.applied_seq
            self._dirty = True

    async def sync(self, pool: AsyncConnectionPool, batch: int = 500) -> int:
        """Apply log entries after `applied_seq`; return how many were applied."""
        if self._sync_lock is None:
            self._sync_lock = asyncio.Lock()
        async with self._sync_lock:
            return await self._sync(pool, batch)

    async def _sync(self, pool: AsyncConnectionPool, batch: int) -> int:
        applied = 0
        async with pool.connection() as conn:
            while True:
                entries = await vdb.log_after(conn, self.applied_seq, batch)
                for entry in entries:
                    if entry.op == "reset":
                        self.reset()
                    elif entry.op == "remove":
                        self.remove_document(entry.document_id, np.array(entry.chunk_ids, dtype=np.int64))
                    else:
                        ids, vectors = await vdb.document_embeddings(conn, entry.document_id, self.dim)
                        await asyncio.to_thread(self.replace_document, entry.document_id, ids, vectors)
                    self.applied_seq = entry.seq
                    applied += 1
                if len(entries) < batch:
                    break
        self.last_sync = time.time()
        return applied

    async def open(self, pool: AsyncConnectionPool) -> None:
        """Load the saved index (or rebuild it), then catch up with the log."""
        try:
            await asyncio.to_thread(self.load_file)
            logger.info("vector index loaded: {}", self.describe())
        except IndexFileError as exc:
            logger.warning("rebuilding the vector index: {}", exc)
            self.status = "rebuilding"
            await self.rebuild(pool)
            await asyncio.to_thread(self.save)
        await self.sync(pool)
        self.loaded, self.status = True, "ok"

    @property
    def dirty(self) -> bool:
        return self._dirty
