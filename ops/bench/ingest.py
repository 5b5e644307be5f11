"""`ingest`: end-to-end ingestion pages/s against the raw ceiling for the same PDFs, same run.

Raw ceiling: PyMuPDF extraction (server.rag.extract), chunking (server.rag.chunk) and embedding
of the chunks with the same embedder and batch size, in this process, no server; measured before
and after the end-to-end run, the faster counts. End-to-end: the real app with one embedded
worker on a fresh database; every PDF uploaded over HTTP, pages/s from the first upload to the
last document reaching ready/failed (the server's own timestamps). Target: e2e >= 0.75 x raw.
"""

from __future__ import annotations

import hashlib
import re
import resource
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from ops.bench import corpus, pdfgen
from ops.bench.context import Context
from ops.bench.report import Check, Report, say
from ops.bench.services import app_env, running, sign_in
from server.rag.chunk import chunk_pages
from server.rag.embed import Embedder, make_embedder
from server.rag.extract import ExtractError, open_document
from server.settings import Settings, load_settings
from shared import routes

TARGET = 0.75


@dataclass
class Raw:
    cpu_s: float = 0.0  # this process's CPU time during the run (all threads)
    pages: int = 0
    chunks: int = 0
    tokens: int = 0
    failed: int = 0
    extract_s: float = 0.0
    chunk_s: float = 0.0
    embed_s: float = 0.0

    @property
    def seconds(self) -> float:
        return self.extract_s + self.chunk_s + self.embed_s


def run(ctx: Context) -> Report:
    report = Report("ingest")
    quick = ctx.args.quick
    conninfo = ctx.pg().database("ingest")
    env = app_env(ctx.workdir / "ingest-data", conninfo, DOCMAN_EMBEDDED_WORKERS="1")
    settings = load_settings(env)
    pdfs = _inputs(ctx, report)
    embedder = make_embedder(settings.embedding)
    report.figure("settings", f"chunks of {settings.ingest.chunk_tokens} tokens (overlap {settings.ingest.chunk_overlap}), "
                              f"embedding batch {settings.embedding.batch_size}, {settings.embedding.model}")

    raw_runs = [raw_ceiling(pdfs, embedder, settings)]
    _print_raw(report, raw_runs[0], "raw (before)")
    e2e_pages, e2e_seconds, stages = end_to_end(ctx, pdfs, env, report)
    if not quick:
        raw_runs.append(raw_ceiling(pdfs, embedder, settings))
        _print_raw(report, raw_runs[1], "raw (after)")
    raw = max(raw_runs, key=lambda r: r.pages / r.seconds if r.seconds else 0.0)

    raw_pps = raw.pages / raw.seconds
    e2e_pps = e2e_pages / e2e_seconds
    report.figure("raw_pages_per_s", raw_pps, "pages/s", "raw ceiling (best run)")
    report.figure("e2e_pages_per_s", e2e_pps, "pages/s", "end-to-end")
    report.figure("embedder_chunks_per_s", raw.chunks / raw.embed_s, "chunks/s", "local embedder")
    report.figure("embedder_tokens_per_s", raw.tokens / raw.embed_s, "tokens/s", "local embedder")
    for key, seconds in stages.items():
        what = "embedder.embed calls" if key == "embed_calls" else f"stage {key}"
        report.figure(f"e2e_{key}_s", seconds, "s", f"e2e time in {what} (server metrics)")
    if e2e_pages != raw.pages:
        report.note(f"e2e made {e2e_pages} pages ready, raw extracted {raw.pages}")
    report.check(Check("ingestion pages/s, e2e vs raw", e2e_pps, raw_pps, "pages/s", ">=", TARGET))
    return report


def _inputs(ctx: Context, report: Report) -> list[Path]:
    if ctx.args.pdfs:
        found = sorted(p for p in Path(ctx.args.pdfs).glob("**/*.pdf") if p.is_file())
        unique = list({hashlib.sha256(p.read_bytes()).hexdigest(): p for p in found}.values())
        report.figure("inputs", f"{len(unique)} distinct PDFs from {ctx.args.pdfs}")
        return unique
    docs, pages = (2, 1) if ctx.args.quick else (ctx.args.docs, ctx.args.pages)
    text = corpus.load()
    started = time.perf_counter()
    pdfs = pdfgen.make_pdfs(ctx.workdir / "pdfs", text, docs, pages)
    report.figure("inputs", f"{docs} generated PDFs x {pages} pages of {text.source} "
                            f"({time.perf_counter() - started:.1f}s to make)")
    return pdfs


def raw_ceiling(pdfs: list[Path], embedder: Embedder, settings: Settings) -> Raw:
    """Extract, chunk and embed every PDF here, as the worker does, timing each step."""
    raw = Raw()
    cpu_before = _process_cpu()
    group = max(1, getattr(embedder, "batch_size", 32)) * 2  # rows per embed call, as the pipeline reads them
    for path in pdfs:
        t0 = time.perf_counter()
        try:
            with open_document(path, "application/pdf", max_pages=settings.ingest.max_pages) as opened:
                pages = list(opened.pages())
                page_count, text_pages = opened.page_count, opened.text_pages
        except ExtractError:
            raw.failed += 1
            raw.extract_s += time.perf_counter() - t0
            continue
        t1 = time.perf_counter()
        raw.extract_s += t1 - t0
        if text_pages == 0:
            raw.failed += 1
            continue
        chunks = list(chunk_pages(pages, embedder.count_tokens, target_tokens=settings.ingest.chunk_tokens,
                                  overlap_tokens=settings.ingest.chunk_overlap))
        t2 = time.perf_counter()
        raw.chunk_s += t2 - t1
        for start in range(0, len(chunks), group):
            embedder.embed([c.text for c in chunks[start:start + group]])
        raw.embed_s += time.perf_counter() - t2
        raw.pages += page_count
        raw.chunks += len(chunks)
        raw.tokens += sum(c.token_count for c in chunks)
    raw.cpu_s = _process_cpu() - cpu_before
    return raw


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _print_raw(report: Report, raw: Raw, label: str) -> None:
    say(f"  {label}: {raw.pages} pages, {raw.chunks} chunks in {raw.seconds:.1f}s "
        f"(extract {raw.extract_s:.1f}s, chunk {raw.chunk_s:.1f}s, embed {raw.embed_s:.1f}s; "
        f"{raw.pages / raw.seconds:.2f} pages/s, {raw.cpu_s / raw.seconds:.2f} cores busy)"
        f"{f'; {raw.failed} failed' if raw.failed else ''}")


def end_to_end(ctx: Context, pdfs: list[Path], env: dict[str, str], report: Report) -> tuple[int, float, dict[str, float]]:
    """Upload every PDF to the real app; (pages made ready, seconds, stage seconds from /metrics)."""
    with running("ours", ctx.workdir / "logs" / "ingest-ours.log", env=env) as app:
        headers = sign_in(app.url)
        with httpx.Client(base_url=app.url, headers=headers, timeout=120) as client:
            started, cpu_before = time.time(), app.cpu_seconds()
            ids = []
            for path in pdfs:
                r = client.post(routes.DOCUMENTS, files={"file": (path.name, path.read_bytes(), "application/pdf")})
                if r.status_code not in (200, 202):
                    report.note(f"upload of {path.name} refused: {r.status_code} {r.text[:200]}")
                    continue
                ids.append(r.json()["id"])
            say(f"  uploaded {len(ids)} documents in {time.time() - started:.1f}s; waiting for ingestion ...")
            docs = _wait_terminal(client, set(ids), timeout=max(600.0, 10.0 * len(ids)))
            cpu_s, wall = app.cpu_seconds() - cpu_before, time.time() - started
            metrics = client.get(routes.METRICS).text
    finished = max(_ts(d.get("ready_at") or d["updated_at"]) for d in docs)
    ready = [d for d in docs if d["status"] == "ready"]
    failed = [d for d in docs if d["status"] != "ready"]
    pages = sum(d.get("page_count") or 0 for d in ready)
    seconds = finished - started
    say(f"  end-to-end: {pages} pages in {len(ready)} ready documents ({len(failed)} failed) in {seconds:.1f}s "
        f"(server process {cpu_s / wall:.2f} cores busy)")
    for d in failed:
        report.note(f"{d['filename']}: {d['status']} [{d.get('error_code')}] {d.get('error')}")
    return pages, seconds, _stage_seconds(metrics)


def _wait_terminal(client: httpx.Client, ids: set[str], timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(routes.DOCUMENTS_LIST, params={"limit": 500})
        r.raise_for_status()
        docs = [d for d in r.json()["items"] if d["id"] in ids]
        if len(docs) == len(ids) and all(d["status"] in ("ready", "failed") for d in docs):
            return docs
        if time.monotonic() > deadline:
            raise TimeoutError(f"ingestion not finished within {timeout:g}s")
        time.sleep(0.5)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


_STAGE = re.compile(r'^ingest_stage_duration_seconds_sum\{stage="([a-z]+)"\} ([0-9.e+-]+)$', re.M)
_EMBED = re.compile(r"^embedding_batch_duration_seconds_sum ([0-9.e+-]+)$", re.M)


def _stage_seconds(metrics: str) -> dict[str, float]:
    """Seconds per ingestion stage, and inside `embedder.embed` calls, from the server's /metrics."""
    out = {stage: float(value) for stage, value in _STAGE.findall(metrics)}
    if embed := _EMBED.search(metrics):
        out["embed_calls"] = float(embed.group(1))
    return out
