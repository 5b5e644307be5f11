"""`docman worker` as its own process: metrics endpoint, and uploads when storage is down."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from tests.auth.live import free_port
from tests.conftest import serve_app, settings_env, upload
from tests.ingest.test_resilience import start_worker, stop_worker



def test_worker_serves_its_own_metrics(tmp_path: Path, db_url: str) -> None:
    port = free_port()
    env = settings_env(tmp_path / "data", DOCMAN_DATABASE_URL=db_url, DOCMAN_WORKER_METRICS_PORT=str(port))
    worker = start_worker(env)
    try:
        deadline, body = time.monotonic() + 60, ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
                    body = resp.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert "ingest_job_attempts_total" in body and "embedding_batch_duration_seconds" in body
    finally:
        stop_worker(worker)


async def test_upload_with_storage_down_is_503_and_records_nothing(make_settings, db_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(DOCMAN_STORAGE_BACKEND="s3", DOCMAN_S3_ENDPOINT=f"127.0.0.1:{free_port()}",
                             DOCMAN_S3_ACCESS_KEY="k", DOCMAN_S3_SECRET_KEY="s", DOCMAN_STORAGE_CHECK_TIMEOUT="1")
    async for s in serve_app(settings, db_url):
        await s.wait_ready()
        r = await upload(s.client, "a.txt", b"storage is down right now", "text/plain")
        assert r.status_code == 503 and r.json()["code"] == "storage_unavailable"
        assert r.headers.get("retry-after")
        assert (await s.client.get("/api/v1/documents/list")).json()["total"] == 0
        deps = (await s.client.get("/api/v1/health/dependencies")).json()
        assert deps["components"]["file_storage"] != "ok"
