"""Crash safety and the index's relation to PostgreSQL: kill -9 of a worker, lost or corrupt index
files, a changed embedding model, replicas in step, bounded memory on a large PDF."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pymupdf
import pytest

from server.db import jobs as jobs_db
from server.db import migrate
from server.rag.chunk import chunk_pages
from server.rag.embed import make_embedder
from server.rag.extract import open_document
from tests.conftest import Served, serve_app, settings_env, upload, wait_for_status, wait_until

WORDS = ("cell protein membrane energy signal pathway enzyme gene receptor molecule binding structure "
         "transport metabolism oxygen carbon nitrogen light water growth tissue neuron synapse").split()


def dense_pdf(path: Path, pages: int, words_per_page: int = 260, seed: int = 7) -> Path:
    rng = random.Random(seed)
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        sentences = []
        for _ in range(words_per_page // 13):
            sentences.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + f" p{n}.")
        doc.new_page().insert_textbox(pymupdf.Rect(36, 36, 576, 756), " ".join(sentences), fontsize=7)
    doc.save(path, garbage=1, deflate=True)
    doc.close()
    return path


def undisturbed_chunk_count(path: Path, settings) -> int:  # type: ignore[no-untyped-def]
    embedder = make_embedder(settings.embedding)
    with open_document(path, "application/pdf", max_pages=settings.ingest.max_pages) as opened:
        return sum(1 for _ in chunk_pages(opened.pages(), embedder.count_tokens,
                                          target_tokens=settings.ingest.chunk_tokens,
                                          overlap_tokens=settings.ingest.chunk_overlap))


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`docman worker` with its log in the data directory (a pipe nobody reads would block it when full)."""
    log_dir = Path(env["DOCMAN_DATA_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"worker-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "ops.cli", "worker"], env={**os.environ, **env},
                                  stdout=subprocess.DEVNULL, stderr=log)
    worker.log_path = log_path  # type: ignore[attr-defined]
    return worker


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then the worker must exit by itself (it gives back its jobs and closes its pool)."""
    worker.terminate()
    try:
        worker.wait(timeout=40)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        tail = worker.log_path.read_text(errors="replace")[-4000:]  # type: ignore[attr-defined]
        raise AssertionError(f"docman worker did not exit within 40 s of SIGTERM; its log ends:\n{tail}") from None


async def test_worker_killed_mid_document_loses_nothing(tmp_path: Path, db_url: str) -> None:
    env = settings_env(tmp_path / "data", DOCMAN_EMBEDDED_WORKERS="0", DOCMAN_DATABASE_URL=db_url,
                   DOCMAN_JOB_LEASE_SECONDS="3", DOCMAN_EMBEDDING_BATCH="8")
    from server.settings import load_settings

    settings = load_settings(env)
    pdf = dense_pdf(tmp_path / "big.pdf", 30)
    expected = undisturbed_chunk_count(pdf, settings)
    async for s in serve_app(settings, db_url):
        await s.wait_ready()
        doc_id = (await upload(s.client, "big.pdf", pdf.read_bytes())).json()["id"]
        first = start_worker(env)
        try:
            async def embedding_started() -> bool:
                body = (await s.client.get(f"/api/v1/documents/{doc_id}")).json()
                return body["status"] == "embedding" and body["progress"]["chunks_embedded"] > 0

            await wait_until(embedding_started, 120, 0.05)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        killed_at = (await s.client.get(f"/api/v1/documents/{doc_id}")).json()
        assert killed_at["status"] == "embedding"  # not ready, and not claimed done
        second = start_worker(env)
        try:
            doc = await wait_for_status(s.client, doc_id, timeout=180)
        finally:
            stop_worker(second)
        assert doc["status"] == "ready", doc
        assert doc["chunk_count"] == expected
        await wait_until(lambda: s.rt.index.vectors_for(doc_id) == expected, 10)
        with psycopg.connect(db_url) as conn:
            ordinals = [r[0] for r in conn.execute(
                "SELECT ordinal FROM document_chunks WHERE document_id = %s ORDER BY ordinal", (doc_id,))]
            attempts = conn.execute("SELECT attempts, state FROM ingest_jobs WHERE document_id = %s", (doc_id,)).fetchone()
        assert ordinals == list(range(expected))
        assert attempts == (2, "done")


async def test_stale_worker_cannot_finish_a_taken_over_job(db_url: str) -> None:
    await migrate.migrate(db_url)
    doc = "11111111-1111-4111-8111-111111111111"
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        cur = await conn.execute("INSERT INTO users (email, password_hash, role) VALUES ('u@x', '!', 'user') RETURNING id")
        owner = (await cur.fetchone())[0]  # type: ignore[index]
        await conn.execute(
            "INSERT INTO documents (id, owner, title, filename, content_type, size_bytes, sha256, storage_key)"
            " VALUES (%s, %s, 't', 't', 'text/plain', 1, 'x', 'k')", (doc, owner))
        assert await jobs_db.enqueue(conn, doc, 3) is True
        assert await jobs_db.enqueue(conn, doc, 3) is False  # one active job per document
        a = await jobs_db.claim(conn, "worker-a", 0.2)
        assert a is not None
        assert await jobs_db.claim(conn, "worker-b", 30) is None  # leased: nobody else gets it
        await asyncio.sleep(0.4)
        b = await jobs_db.claim(conn, "worker-b", 30)
        assert b is not None and b.id == a.id and b.attempts == 2
        assert await jobs_db.renew(conn, a.id, "worker-a", 30) is False
        assert await jobs_db.finish(conn, a.id, "worker-a", "done") is False
        assert await jobs_db.finish(conn, b.id, "worker-b", "done") is True


async def _search(client, query: str) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    r = await client.post("/api/v1/search", json={"query": query, "mode": "dense", "top_k": 5})
    return [(h["document_id"], h["chunk_id"]) for h in r.json()["results"]]


@pytest.mark.parametrize("damage", ["delete", "corrupt"])
async def test_lost_or_corrupt_index_is_rebuilt_from_postgres(tmp_path: Path, db_url: str, make_settings, damage: str) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    async for s in serve_app(settings, db_url):
        await s.wait_ready()
        for i in range(3):
            pdf = dense_pdf(tmp_path / f"d{i}.pdf", 4, seed=i)
            await wait_for_status(s.client, (await upload(s.client, f"d{i}.pdf", pdf.read_bytes())).json()["id"])
        before = await _search(s.client, "enzyme receptor binding")
        assert before
    index_file = settings.index.dir / "faiss.index"
    assert index_file.exists()  # saved at shutdown
    if damage == "delete":
        for f in settings.index.dir.iterdir():
            f.unlink()
    else:
        data = bytearray(index_file.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = os.urandom(64)
        index_file.write_bytes(bytes(data))
    async for s in serve_app(settings, db_url):
        await s.wait_ready()
        with psycopg.connect(db_url) as conn:
            rows = conn.execute("SELECT count(*) FROM document_chunks").fetchone()[0]  # type: ignore[index]
        assert s.rt.index.ntotal == rows
        assert await _search(s.client, "enzyme receptor binding") == before


async def test_changed_embedding_model_triggers_reembedding(tmp_path: Path, db_url: str, make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    async for s in serve_app(settings, db_url):
        await s.wait_ready()
        doc_id = (await upload(s.client, "m.txt", b"Embeddings must follow the model in use.", "text/plain")).json()["id"]
        await wait_for_status(s.client, doc_id)
    with psycopg.connect(db_url) as conn:  # as if an older deployment had used another model
        conn.execute("UPDATE system_state SET value = 'old-model:128' WHERE key = 'embedding'")
        conn.execute("UPDATE document_chunks SET embedding = decode(repeat('00', 512), 'hex')")
    async for s in serve_app(settings, db_url):
        await s.wait_ready()
        doc = await wait_for_status(s.client, doc_id)
        assert doc["status"] == "ready" and doc["chunk_count"] > 0
        await wait_until(lambda: s.rt.index.vectors_for(doc_id) == doc["chunk_count"], 10)
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT value FROM system_state WHERE key = 'embedding'").fetchone() == ("all-MiniLM-L6-v2:384",)
            assert conn.execute("SELECT count(*) FROM document_chunks WHERE length(embedding) <> 384 * 4").fetchone() == (0,)


async def test_replicas_stay_in_step_including_deletions(tmp_path: Path, db_url: str, make_settings) -> None:  # type: ignore[no-untyped-def]
    a_settings = make_settings()
    b_settings = make_settings(DOCMAN_INDEX_DIR=str(tmp_path / "replica-b-index"), DOCMAN_EMBEDDED_WORKERS="0")
    async for a in serve_app(a_settings, db_url):
        async for b in serve_app(b_settings, db_url):
            await a.wait_ready()
            await b.wait_ready()
            doc_id = (await upload(a.client, "r.txt", b"Replicas replay the vector log from PostgreSQL.", "text/plain")).json()["id"]
            await wait_for_status(a.client, doc_id)
            await wait_until(lambda: b.rt.index.vectors_for(doc_id) > 0, 10)
            assert await _search(b.client, "vector log replay") == await _search(a.client, "vector log replay")
            assert (await a.client.delete(f"/api/v1/documents/{doc_id}")).status_code == 204
            await wait_until(lambda: b.rt.index.vectors_for(doc_id) == 0, 10)
            assert b.rt.index.ntotal == 0


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
async def test_thousand_page_pdf_keeps_worker_memory_bounded(tmp_path: Path, db_url: str) -> None:
    env = settings_env(tmp_path / "data", DOCMAN_EMBEDDED_WORKERS="0", DOCMAN_DATABASE_URL=db_url)
    from server.settings import load_settings

    settings = load_settings(env)
    pdf = dense_pdf(tmp_path / "thousand.pdf", 1000, words_per_page=26)
    async for s in serve_app(settings, db_url):
        await s.wait_ready()
        doc_id = (await upload(s.client, "thousand.pdf", pdf.read_bytes())).json()["id"]
        worker = start_worker(env)
        peak = 0.0
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                peak = max(peak, _peak_rss_mb(worker.pid))
                body = (await s.client.get(f"/api/v1/documents/{doc_id}")).json()
                if body["status"] in ("ready", "failed"):
                    break
                await asyncio.sleep(0.5)
            peak = max(peak, _peak_rss_mb(worker.pid))
        finally:
            stop_worker(worker)
        assert body["status"] == "ready", body
        assert body["page_count"] == 1000
        assert peak < 1536, f"worker peak RSS {peak:.0f} MB"
        print(f"1000-page PDF: {body['chunk_count']} chunks, worker peak RSS {peak:.0f} MB")
