"""Operator endpoints through HTTP: logs, jobs, index verification and repair, runbooks, fixes."""

from __future__ import annotations

import threading

import numpy as np
from loguru import logger
import psycopg

from server.rag.index import INDEX_FILE
from tests.conftest import Served, upload, wait_for_status
from tests.pdfs import make_encrypted_pdf, make_pdf


async def _ready_doc(s: Served, tmp_path, name: str = "ops.pdf") -> str:  # type: ignore[no-untyped-def]
    pdf = make_pdf(tmp_path / name, ["Operators verify the index. " * 20, "Runbooks run checks in order. " * 20])
    doc_id = (await upload(s.client, name, pdf.read_bytes())).json()["id"]
    assert (await wait_for_status(s.client, doc_id))["status"] == "ready"
    return doc_id


async def test_logs_filter_by_correlation_id_and_document(served: Served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await served.client.get("/api/v1/documents/list", headers={"X-Correlation-ID": "ops-corr-1"})
    page = (await served.client.get("/api/v1/ops/logs", params={"correlation_id": "ops-corr-1"})).json()
    assert page["records"] and all(r["correlation_id"] == "ops-corr-1" for r in page["records"])
    assert page["last_seq"] >= page["records"][-1]["seq"]
    doc_id = await _ready_doc(served, tmp_path)
    by_doc = (await served.client.get("/api/v1/ops/logs", params={"document_id": doc_id})).json()["records"]
    assert {r["service"] for r in by_doc} >= {"api", "document_processor"}
    newer = (await served.client.get("/api/v1/ops/logs", params={"after_seq": page["last_seq"], "limit": 5000})).json()
    assert all(r["seq"] > page["last_seq"] for r in newer["records"])
    bad = await served.client.get("/api/v1/ops/logs", params={"level": "loud"})
    assert bad.status_code == 400


async def test_log_stream_ends_and_carries_new_lines(served: Served) -> None:
    def later() -> None:  # from another thread: the in-process client holds this loop while streaming
        logger.bind(correlation_id="stream-me").warning("a line for the live stream")
        logger.bind(correlation_id="someone-else").warning("filtered out")

    timer = threading.Timer(0.5, later)
    timer.start()
    r = await served.client.get("/api/v1/ops/logs/stream", params={"seconds": 1.5, "correlation_id": "stream-me"})
    timer.join()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    body = r.text
    assert "event: log" in body and "a line for the live stream" in body
    assert "filtered out" not in body
    assert "event: end" in body


async def test_jobs_overview_lists_failed_documents(served: Served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc_id = (await upload(served.client, "locked.pdf", make_encrypted_pdf(tmp_path / "l.pdf").read_bytes())).json()["id"]
    await wait_for_status(served.client, doc_id)
    jobs = (await served.client.get("/api/v1/ops/jobs")).json()
    failed = {d["id"]: d for d in jobs["failed"]}
    assert failed[doc_id]["error_code"] == "pdf_encrypted"
    assert jobs["documents_by_status"]["failed"] >= 1
    assert {"queued", "running", "oldest_queued_seconds", "active"} <= set(jobs)


async def test_verify_detects_and_rebuild_repairs(served: Served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc_id = await _ready_doc(served, tmp_path)
    report = (await served.client.get("/api/v1/ops/index/verify")).json()
    assert report["verdict"] == "pass", report
    assert report["vectors"] == report["chunk_rows"] > 0

    index = served.rt.index  # break it: one stored chunk's vector vanishes from the index
    victim = int(index.all_ids()[0])
    index.remove_document(doc_id, np.array([victim]))
    index._docs[doc_id] = np.array([i for i in index.all_ids() if i != victim], dtype=np.int64)
    broken = (await served.client.get("/api/v1/ops/index/verify")).json()
    assert broken["verdict"] == "fail" and broken["missing_in_index"] >= 1

    rebuilt = (await served.client.post("/api/v1/ops/index/rebuild", params={"backup": "true"})).json()
    assert rebuilt["vectors"] == report["vectors"]
    assert rebuilt["backup"] and (served.rt.settings.index.dir / "backups").exists()
    assert (await served.client.get("/api/v1/ops/index/verify")).json()["verdict"] == "pass"

    restored = await served.client.post("/api/v1/ops/index/restore", params={"backup": rebuilt["backup"].rsplit("/", 1)[-1]})
    assert restored.status_code == 200 and restored.json()["vectors"] == report["vectors"]
    hostile = await served.client.post("/api/v1/ops/index/restore", params={"backup": "../../etc"})
    assert hostile.status_code == 400


async def test_chunk_row_without_vector_is_detected(served: Served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc_id = await _ready_doc(served, tmp_path)
    with psycopg.connect(served.rt.conninfo, autocommit=True) as conn:
        conn.execute("UPDATE document_chunks SET embedding = NULL WHERE id = "
                     "(SELECT min(id) FROM document_chunks WHERE document_id = %s)", (doc_id,))
    checks = (await served.client.get(f"/api/v1/ops/documents/{doc_id}/vectors")).json()
    by_id = {c["id"]: c for c in checks}
    assert by_id["vector_count"]["verdict"] == "fail"
    report = (await served.client.get("/api/v1/ops/index/verify")).json()
    assert report["verdict"] == "fail" and report["extra_in_index"] == 1
    fix = await served.client.post("/api/v1/ops/fix", json={"fix": "reprocess", "document_id": doc_id})
    assert fix.status_code == 200 and fix.json()["ok"]
    await wait_for_status(served.client, doc_id)
    fixed = {c["id"]: c for c in (await served.client.get(f"/api/v1/ops/documents/{doc_id}/vectors")).json()}
    assert fixed["vector_count"]["verdict"] == "pass"


async def test_document_not_found_runbook_runs_to_a_verdict(served: Served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    listed = (await served.client.get("/api/v1/ops/runbooks")).json()
    ids = {r["id"]: r for r in listed}
    rb = ids["document-not-found-in-search"]
    assert rb["checks"] and set(rb["params"]) == {"document_id", "text"}
    detail = (await served.client.get("/api/v1/ops/runbooks/document-not-found-in-search")).json()
    assert "## Diagnosis" in detail["markdown"] or "Diagnosis" in detail["markdown"]

    doc_id = await _ready_doc(served, tmp_path)
    run = (await served.client.post("/api/v1/ops/runbooks/document-not-found-in-search/run",
                                    json={"document_id": doc_id, "text": "Runbooks run checks in order"})).json()
    assert run["verdict"] == "pass", run
    assert [s["check"]["id"] for s in run["steps"]] == rb["checks"]

    failed_id = (await upload(served.client, "enc.pdf", make_encrypted_pdf(tmp_path / "e.pdf").read_bytes())).json()["id"]
    await wait_for_status(served.client, failed_id)
    bad = (await served.client.post("/api/v1/ops/runbooks/document-not-found-in-search/run",
                                    json={"document_id": failed_id})).json()
    assert bad["verdict"] == "fail"
    status_step = next(s for s in bad["steps"] if s["check"]["id"] == "document_status")
    assert status_step["check"]["verdict"] == "fail" and "pdf_encrypted" in status_step["check"]["detail"]
    assert status_step["fix"] == "reprocess" and status_step["resolution"]

    missing = await served.client.post("/api/v1/ops/runbooks/document-not-found-in-search/run", json={})
    assert missing.status_code == 400
    assert (await served.client.get("/api/v1/ops/runbooks/nope")).status_code == 404


async def test_performance_runbook_and_metrics_summary(served: Served) -> None:
    for _ in range(5):
        await served.client.get("/api/v1/documents/list")
    summary = (await served.client.get("/api/v1/ops/metrics/summary")).json()
    assert summary["request_rate"] > 0 and 0 <= summary["error_rate"] <= 1
    run = (await served.client.post("/api/v1/ops/runbooks/api-performance-degradation/run", json={})).json()
    assert run["verdict"] in ("pass", "warn", "fail")
    assert {s["check"]["id"] for s in run["steps"]} >= {"dependencies", "db_pool", "db_long_queries", "queue_depth"}
    vacuum = await served.client.post("/api/v1/ops/fix", json={"fix": "vacuum_analyze"})
    assert vacuum.status_code == 200 and vacuum.json()["ok"]
    unknown = await served.client.post("/api/v1/ops/fix", json={"fix": "format_disk"})
    assert unknown.status_code == 400


async def test_ops_endpoints_need_the_operator_role(served: Served) -> None:
    user = await served.make_user("plain@example.com")
    for path in ("/api/v1/ops/logs", "/api/v1/ops/jobs", "/api/v1/ops/index/verify", "/api/v1/ops/runbooks"):
        assert (await user.client.get(path)).status_code == 403, path
    assert (await served.anon().get("/api/v1/ops/logs")).status_code == 401
