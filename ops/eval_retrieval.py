"""`docman ops eval-retrieval PATH`: nDCG@10, Recall@10 and Recall@100 of dense, lexical and hybrid
search on a BEIR folder, measured through the real API.

The app runs in-process on a private database (a fresh embedded PostgreSQL in a temporary
directory; with DOCMAN_DATABASE_URL, a scratch database created on that server and dropped
afterwards) and a fresh data directory. Each corpus document is uploaded as text/plain
("title", blank line, "text") and ingested by embedded workers; then every query goes through
`POST /api/v1/search` in each mode. Chunk hits map to corpus ids, a document ranking by its best
chunk. `--workdir DIR` keeps the embedded database and data there, so a later run (after a
change to retrieval, say) skips the ingestion: re-uploads are answered as duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from ops import beir

MODES = ("dense", "lexical", "hybrid")
ADMIN_EMAIL = "eval@example.com"
Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def eval_settings(data_dir: Path, workers: int) -> Any:
    """Settings for the private app: many ingestion slots, big embedding batches, no rate limits."""
    from server.settings import load_settings

    env = {k: v for k, v in os.environ.items() if k.startswith("DOCMAN_") and k != "DOCMAN_DATABASE_URL"}
    env.update({
        "DOCMAN_DATA_DIR": str(data_dir), "DOCMAN_STORAGE_DIR": "", "DOCMAN_INDEX_DIR": "",
        "DOCMAN_STORAGE_BACKEND": "local", "DOCMAN_EMBEDDED_WORKERS": "1",
        "DOCMAN_WORKER_CONCURRENCY": str(workers), "DOCMAN_EMBEDDING_BATCH": "64",
        "DOCMAN_WORKER_POLL_INTERVAL": "0.2", "DOCMAN_INDEX_SYNC_INTERVAL": "1",
        "DOCMAN_RATE_LIMIT_ENABLED": "false", "DOCMAN_ACCESS_TOKEN_TTL": str(7 * 86400),
        "DOCMAN_ADMIN_EMAIL": ADMIN_EMAIL, "DOCMAN_ADMIN_PASSWORD": _secret(data_dir, "admin-password"),
        "DOCMAN_JWT_SECRET": _secret(data_dir, "eval-jwt-secret"), "DOCMAN_LLM_BASE_URL": "",
    })
    return load_settings(env)


def _secret(data_dir: Path, name: str) -> str:
    """A random secret kept in the data directory, so a reused --workdir signs in again."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


@contextlib.contextmanager
def private_database(workdir: Path | None) -> Iterator[str]:
    """The conninfo of a database holding nothing but this evaluation."""
    url = os.environ.get("DOCMAN_DATABASE_URL")
    if url:
        import psycopg
        from psycopg.conninfo import make_conninfo

        name = f"docman_eval_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_conninfo(url, dbname=name)
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    from server.db.embedded import embedded_postgres

    directory = (workdir / "pg") if workdir else Path(tempfile.mkdtemp(prefix="docman-eval-pg-"))
    try:
        with embedded_postgres(directory) as uri:
            yield uri
    finally:
        if workdir is None:
            shutil.rmtree(directory, ignore_errors=True)


async def _wait_ready(client: httpx.AsyncClient, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while (await client.get("/api/v1/health/ready")).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not become ready (see the log above)")
        await asyncio.sleep(0.5)


async def _sign_in(client: httpx.AsyncClient, password: str) -> None:
    r = await client.post("/api/v1/auth/token", json={"username": ADMIN_EMAIL, "password": password})
    r.raise_for_status()
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"


async def ingest(client: httpx.AsyncClient, corpus: list[beir.CorpusDoc], progress: Progress,
                 concurrency: int = 8) -> dict[str, list[str]]:
    """Upload every corpus document; return document id -> corpus ids (equal texts share one)."""
    doc_map: dict[str, list[str]] = {}
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(doc: beir.CorpusDoc) -> None:
        nonlocal done
        files = {"file": (f"{doc.id}.txt", doc.as_text().encode(), "text/plain")}
        async with gate:
            r = await client.post("/api/v1/documents", files=files, data={"title": doc.title[:200] or doc.id})
        if r.status_code not in (200, 202):
            raise RuntimeError(f"upload of {doc.id} failed: HTTP {r.status_code} {r.text[:200]}")
        doc_map.setdefault(r.json()["id"], []).append(doc.id)
        done += 1
        if done % 500 == 0 or done == len(corpus):
            progress(f"uploaded {done}/{len(corpus)}")

    await asyncio.gather(*(one(doc) for doc in corpus))
    return doc_map


async def _count(client: httpx.AsyncClient, status: str) -> int:
    r = await client.get("/api/v1/documents/list", params={"status": status, "limit": 1})
    r.raise_for_status()
    return int(r.json()["total"])


async def wait_ingested(client: httpx.AsyncClient, total: int, progress: Progress, *, before: int = 0,
                        stall: float = 900.0) -> int:
    """Wait until every document is ready or failed (`before` were ready already); return the number failed."""
    started = last_change = time.monotonic()
    last_report, seen = 0.0, -1
    while True:
        ready, failed = await _count(client, "ready"), await _count(client, "failed")
        now = time.monotonic()
        if ready + failed != seen:
            seen, last_change = ready + failed, now
        if ready + failed >= total or now - last_report >= 15:
            rate = (ready - before) / max(now - started, 1e-9)
            eta = f", about {(total - ready - failed) / rate / 60:.1f} min left" if 0 < rate and ready < total else ""
            speed = f" ({rate:.1f} docs/s{eta})" if ready > before else ""
            progress(f"ingested {ready}/{total} ready, {failed} failed{speed}")
            last_report = now
        if ready + failed >= total:
            return failed
        if now - last_change > stall:
            raise RuntimeError(f"ingestion made no progress for {stall:.0f} s")
        await asyncio.sleep(2.0)


async def run_queries(client: httpx.AsyncClient, queries: dict[str, str], mode: str, top_k: int,
                      doc_map: dict[str, list[str]], concurrency: int = 4) -> dict[str, list[str]]:
    """Corpus-id rankings of every query in one mode."""
    gate = asyncio.Semaphore(concurrency)
    rankings: dict[str, list[str]] = {}

    async def one(qid: str, text: str) -> None:
        body = {"query": text[:2000], "top_k": top_k, "mode": mode}
        async with gate:
            for _ in range(60):
                r = await client.post("/api/v1/search", json=body)
                if r.status_code != 503:
                    break
                await asyncio.sleep(1.0)  # the index is catching up
        r.raise_for_status()
        hits = [(doc_map.get(h["document_id"], []), float(h["score"])) for h in r.json()["results"]]
        rankings[qid] = beir.dedupe_ranking(hits)

    await asyncio.gather(*(one(qid, text) for qid, text in queries.items()))
    return rankings


async def evaluate(bench: beir.Benchmark, conninfo: str, data_dir: Path, *, modes: tuple[str, ...] = MODES,
                   top_k: int = 100, workers: int = 4, progress: Progress = _stderr) -> dict[str, dict[str, float]]:
    """Ingest the corpus into an app on `conninfo` and score each mode."""
    from server.app import create_app

    settings = eval_settings(data_dir, workers)
    app = create_app(settings, conninfo=conninfo)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://eval.local", timeout=300) as client:
            progress("starting the app (migrations, embedding model, vector index)")
            await _wait_ready(client)
            await _sign_in(client, settings.auth.admin_password or "")
            started, before = time.monotonic(), await _count(client, "ready")  # a reused --workdir has some
            doc_map = await ingest(client, bench.corpus, progress)
            failed = await wait_ingested(client, len(doc_map), progress, before=before)
            rt = app.state.rt
            await rt.index.sync(rt.pool)  # every vector is searchable before the first query
            progress(f"ingestion took {time.monotonic() - started:.0f} s ({failed} failed)")
            results: dict[str, dict[str, float]] = {}
            for mode in modes:
                started = time.monotonic()
                rankings = await run_queries(client, bench.queries, mode, top_k, doc_map)
                results[mode] = beir.score(rankings, bench.qrels)
                progress(f"{mode}: {len(rankings)} queries in {time.monotonic() - started:.0f} s")
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    lines = [f"{'mode':<9} {'nDCG@10':>8} {'Recall@10':>10} {'Recall@100':>11}"]
    for mode, m in results.items():
        lines.append(f"{mode:<9} {m['ndcg@10']:>8.4f} {m['recall@10']:>10.4f} {m['recall@100']:>11.4f}")
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    import logging

    from server.logs import configure_logging

    configure_logging(args.log_level.upper())
    for noisy in ("httpx", "httpcore", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    bench = beir.load(args.path, limit_queries=args.limit_queries, limit_corpus=args.limit_corpus)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if unknown := [m for m in modes if m not in MODES]:
        print(f"docman ops eval-retrieval: unknown mode(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    _stderr(f"{len(bench.corpus)} documents, {len(bench.queries)} judged queries from {args.path}")
    workdir = args.workdir.resolve() if args.workdir else None
    data_dir = (workdir / "data") if workdir else Path(tempfile.mkdtemp(prefix="docman-eval-data-"))
    try:
        with private_database(workdir) as conninfo:
            results = asyncio.run(evaluate(bench, conninfo, data_dir, modes=modes, top_k=args.top_k,
                                           workers=args.workers))
    finally:
        if workdir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `eval-retrieval` to the `docman ops` group."""
    p = subparsers.add_parser("eval-retrieval", help="score dense, lexical and hybrid search on a BEIR folder")
    p.add_argument("path", type=Path, help="folder with corpus.jsonl, queries.jsonl and qrels.tsv")
    p.add_argument("--limit-queries", type=int, default=None, metavar="N", help="only the first N judged queries")
    p.add_argument("--limit-corpus", type=int, default=None, metavar="N",
                   help="about N documents: every one relevant to a kept query, then others in file order")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated modes (default: all three)")
    p.add_argument("--top-k", type=int, default=100, help="chunks asked for per query (1-100)")
    p.add_argument("--workers", type=int, default=4, help="documents ingested at once")
    p.add_argument("--workdir", type=Path, default=None,
                   help="keep the embedded database and data here; a later run reuses the ingested corpus")
    p.add_argument("--log-level", default="warning", help="server log level (default: warning)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=cmd_eval)


if __name__ == "__main__":  # `python -m ops.eval_retrieval PATH ...`, also before `docman ops` is wired
    _parser = argparse.ArgumentParser(prog="python -m ops.eval_retrieval")
    register(_parser.add_subparsers(dest="command", required=True))
    _args = _parser.parse_args(["eval-retrieval", *sys.argv[1:]])
    sys.exit(_args.func(_args))
