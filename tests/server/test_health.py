"""The guide's three health endpoints, a hung dependency, and a database that goes away and returns."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import Served, create_database, serve_app, wait_until


async def test_live(served: Served) -> None:
    r = await served.client.get("/api/v1/health/live")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_ready(served: Served) -> None:
    r = await served.client.get("/api/v1/health/ready")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "migrations": "ok", "vector_index": "ok"}


async def test_dependencies_shape(served: Served) -> None:
    r = await served.client.get("/api/v1/health/dependencies")
    assert r.status_code == 200
    body = r.json()
    assert {"status", "version", "timestamp", "components"} <= set(body)
    assert body["status"] == "ok"
    assert body["version"]
    assert body["timestamp"].endswith("Z")
    assert body["components"] == {
        "api": "ok",
        "database": "ok",
        "vector_store": "ok",
        "llm_service": "not_configured",
        "file_storage": "ok",
    }
    assert body["details"]["llm_service"]["detail"]


async def test_hung_dependency_cannot_hang_the_endpoint(served: Served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async def hang() -> None:
        await asyncio.sleep(30)

    monkeypatch.setattr(served.rt.store, "check", hang)
    started = time.monotonic()
    r = await served.client.get("/api/v1/health/dependencies")
    elapsed = time.monotonic() - started
    assert elapsed < served.rt.settings.storage.check_timeout + 1.5
    body = r.json()
    assert body["components"]["file_storage"] == "timeout"
    assert body["status"] == "timeout"
    assert r.status_code == 503
    assert "did not answer within" in body["details"]["file_storage"]["detail"]


@pytest.fixture
def stoppable_pg():  # type: ignore[no-untyped-def]
    """A PostgreSQL server of our own that the test may stop and start again."""
    import pgserver

    directory = Path(tempfile.mkdtemp(prefix="docman-stoppable-"))
    holder = {"server": pgserver.get_server(directory, cleanup_mode="stop")}

    def stop() -> None:
        holder["server"].cleanup()

    def start() -> None:
        holder["server"] = pgserver.get_server(directory, cleanup_mode="stop")

    url = holder["server"].get_uri()
    yield url, stop, start
    holder["server"].cleanup()


async def test_database_down_then_back(make_settings, stoppable_pg) -> None:  # type: ignore[no-untyped-def]
    admin_url, stop, start = stoppable_pg
    db = create_database(admin_url, "down")
    settings = make_settings(DOCMAN_DB_CHECK_TIMEOUT="1", DOCMAN_DB_CONNECT_TIMEOUT="1")
    async for s in serve_app(settings, db):
        await s.wait_ready()
        upload = await s.client.post("/api/v1/documents", files={"file": ("a.txt", b"kept across the outage", "text/plain")})
        assert upload.status_code == 202
        doc_id = upload.json()["id"]
        await wait_until(lambda: _status(s, doc_id), 60)

        await asyncio.to_thread(stop)
        started = time.monotonic()
        ready = await s.client.get("/api/v1/health/ready")
        deps = await s.client.get("/api/v1/health/dependencies")
        assert time.monotonic() - started < 2 * (1 + 1.5)
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert ready.json()["checks"]["database"] != "ok"
        assert deps.json()["components"]["database"] in ("error", "timeout")
        assert deps.json()["status"] != "ok"
        live = await s.client.get("/api/v1/health/live")
        assert live.status_code == 200

        await asyncio.to_thread(start)
        await s.wait_ready(timeout=60)
        doc = await s.client.get(f"/api/v1/documents/{doc_id}")
        assert doc.status_code == 200 and doc.json()["status"] == "ready"


async def _status(s: Served, doc_id: str) -> bool:
    r = await s.client.get(f"/api/v1/documents/{doc_id}")
    return r.json()["status"] == "ready"
