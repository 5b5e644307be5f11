"""Correlation ids, log lines, metrics and the error body, through real requests."""

from __future__ import annotations

import io
import re

import pytest
from loguru import logger

from server.logs import PLAIN_FORMAT, log_ring
from tests.conftest import Served


async def test_correlation_id_is_echoed_and_logged(served: Served) -> None:
    r = await served.client.get("/api/v1/health/live", headers={"X-Correlation-ID": "abc123"})
    assert r.status_code == 200
    assert r.headers["x-correlation-id"] == "abc123"
    lines = log_ring().query(correlation_id="abc123")
    assert lines, "no log line carries the request's correlation id"
    assert any("/api/v1/health/live" in rec.message for rec in lines)


async def test_generated_correlation_id_when_missing_or_hostile(served: Served) -> None:
    r = await served.client.get("/api/v1/health/live")
    generated = r.headers["x-correlation-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    r = await served.client.get("/api/v1/health/live", headers={"X-Correlation-ID": "bad id\twith spaces"})
    assert r.headers["x-correlation-id"] != "bad id\twith spaces"


async def test_plain_and_json_lines_carry_the_tags(served: Served) -> None:
    plain, json_lines = io.StringIO(), []
    sinks = [logger.add(plain, format=PLAIN_FORMAT), logger.add(json_lines.append, format="{message}")]
    try:
        await served.client.get("/api/v1/health/live", headers={"X-Correlation-ID": "tagcheck42"})
    finally:
        for sink in sinks:
            logger.remove(sink)
    line = next(line for line in plain.getvalue().splitlines() if "tagcheck42" in line)
    assert "service=api correlation_id=tagcheck42" in line
    record = next(m.record for m in json_lines if m.record["extra"]["correlation_id"] == "tagcheck42")
    assert record["extra"]["tags"] == "service=api correlation_id=tagcheck42"


async def test_metrics_use_route_templates_and_status(served: Served) -> None:
    await served.client.get("/api/v1/health/live")
    await served.client.get("/api/v1/documents/6b3c1c2e-8d7e-4f7e-9a55-000000000000")
    await served.client.get("/no/such/route")
    text = (await served.client.get("/metrics")).text
    assert re.search(r'http_requests_total\{method="GET",route="/api/v1/health/live",status="200"\} \d', text)
    assert 'route="/api/v1/documents/{document_id}",status="404"' in text
    assert 'route="unmatched",status="404"' in text
    assert "6b3c1c2e" not in text  # raw paths never become labels
    assert "http_request_duration_seconds_bucket" in text
    assert "db_pool_size" in text


async def test_unknown_route_gets_the_error_body(served: Served) -> None:
    r = await served.client.get("/nowhere", headers={"X-Correlation-ID": "err404"})
    assert r.status_code == 404
    body = r.json()
    assert set(body) == {"code", "message", "detail", "correlation_id"}
    assert body["code"] == "not_found" and body["correlation_id"] == "err404"


async def test_validation_error_body(served: Served) -> None:
    r = await served.client.get("/api/v1/documents/list", params={"limit": "0"})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "validation_error"
    assert body["correlation_id"]


async def test_unexpected_error_hides_the_trace(served: Served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from server import documents

    async def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(documents, "list_documents", boom)
    r = await served.client.get("/api/v1/documents/list", headers={"X-Correlation-ID": "boom1"})
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "internal_error"
    assert "secret" not in r.text and "Traceback" not in r.text
    logged = log_ring().query(correlation_id="boom1", level="ERROR")
    assert any("secret internal detail" in rec.message for rec in logged)


def test_log_tail_pages_never_skip_lines() -> None:
    from server.logs import LogRing

    ring = LogRing(100)
    sink = logger.add(ring.append, format="{message}")
    try:
        for i in range(10):
            logger.bind(correlation_id="tail").info("line {}", i)
    finally:
        logger.remove(sink)
    first = ring.query(limit=3)
    assert [r.message for r in first] == ["line 7", "line 8", "line 9"]  # no cursor: the newest
    seen, cursor = [], 0
    cursor = ring.records[0].seq - 1
    while page := ring.query(limit=3, after_seq=cursor):
        seen += [r.message for r in page]
        cursor = page[-1].seq
    assert seen == [f"line {i}" for i in range(10)]


async def test_exhausted_database_pool_is_503_not_500(served: Served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from psycopg_pool import PoolTimeout

    from server import documents

    async def busy(*a, **k):  # type: ignore[no-untyped-def]
        raise PoolTimeout("couldn't get a connection after 5.00 sec")

    monkeypatch.setattr(documents, "list_documents", busy)
    r = await served.client.get("/api/v1/documents/list")
    assert r.status_code == 503 and r.json()["code"] == "database_busy"
    assert r.headers["retry-after"] == "2"


async def test_probe_lines_are_debug_unless_failed_or_traced(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.logs import LogRing

    monkeypatch.setattr("server.logs._debug_on", True)  # as DOCMAN_LOG_LEVEL=DEBUG: probe lines are built
    ring = LogRing(1000)  # its own DEBUG sink: the level of the suite's shared ring is not this test's to assume
    sink = logger.add(ring.append, level="DEBUG", format="{message}")
    try:
        scraped = await served.client.get("/api/v1/health/live")  # an orchestrator's probe: no header of its own
        generated = scraped.headers["x-correlation-id"]
        await served.client.get("/api/v1/health/live", headers={"X-Correlation-ID": "traced-probe"})
        await served.client.post("/api/v1/health/live", headers={"X-Correlation-ID": "probe-405"})
        await served.client.get("/api/v1/health/dependencies", headers={"X-Correlation-ID": "not-a-probe"})
    finally:
        logger.remove(sink)
    assert [r.level for r in ring.query(correlation_id=generated)] == ["DEBUG"]
    assert [r.level for r in ring.query(correlation_id="traced-probe")] == ["INFO"]
    assert [r.level for r in ring.query(correlation_id="probe-405")] == ["WARNING"]
    assert "INFO" in [r.level for r in ring.query(correlation_id="not-a-probe")]

    monkeypatch.setattr("server.logs._debug_on", False)  # DOCMAN_LOG_LEVEL=INFO: the line is not even built
    sink = logger.add(ring.append, level="DEBUG", format="{message}")
    try:
        quiet = (await served.client.get("/api/v1/health/live")).headers["x-correlation-id"]
    finally:
        logger.remove(sink)
    assert ring.query(correlation_id=quiet) == []


async def test_unknown_methods_share_one_metrics_label(served: Served) -> None:
    for method in ("BREW", "PROPFIND", "XYZZY"):
        await served.client.request(method, "/api/v1/nowhere")
    body = (await served.client.get("/metrics")).text
    assert 'method="OTHER",route="unmatched"' in body
    assert 'method="BREW"' not in body and 'method="XYZZY"' not in body


def test_shared_sink_writes_the_plain_format_and_fills_the_ring() -> None:
    from server.logs import LogRing, _message_only, _Sinks

    ring, out, reference = LogRing(10), io.StringIO(), io.StringIO()
    sinks = [logger.add(_Sinks(ring, 20, 10, json=False, stream=out), level=10, format=_message_only),
             logger.add(reference, level=10, format=PLAIN_FORMAT)]
    try:
        logger.bind(correlation_id="shared", document_id="d-1").debug("quiet {}", 1)
        logger.bind(correlation_id="shared").info("loud {braces} kept")
    finally:
        for sink in sinks:
            logger.remove(sink)
    assert out.getvalue().splitlines() == [reference.getvalue().splitlines()[1]]  # DEBUG stays out of stderr at INFO
    assert [(r.level, r.message, r.document_id) for r in ring.records] == [
        ("DEBUG", "quiet 1", "d-1"), ("INFO", "loud {braces} kept", None)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", ring.records[0].timestamp)


def test_shared_sink_json_lines() -> None:
    import json

    from server.logs import LogRing, _message_only, _Sinks

    ring, out = LogRing(10), io.StringIO()
    sink = logger.add(_Sinks(ring, 20, 20, json=True, stream=out), level=20, format=_message_only)
    try:
        try:
            raise RuntimeError("kaput")
        except RuntimeError:
            logger.bind(correlation_id="jsonline").exception("failed")
    finally:
        logger.remove(sink)
    (line,) = out.getvalue().splitlines()
    body = json.loads(line)
    assert body["timestamp"] == ring.records[0].timestamp
    assert (body["level"], body["correlation_id"], body["message"]) == ("ERROR", "jsonline", "failed")
    assert body["tags"] == "service=api correlation_id=jsonline"
    assert "RuntimeError: kaput" in body["exception"]


def test_request_metrics_are_cumulative_histograms_with_inclusive_bounds() -> None:
    from prometheus_client import REGISTRY

    from server.http_metrics import observe_request, request_started

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, {"method": "GET", "route": "/t/histogram", **labels}) or 0.0

    def bucket(le: str) -> float:
        return sample("http_request_duration_seconds_bucket", le=le)

    before = {le: bucket(le) for le in ("0.005", "0.01", "5.0", "+Inf")}
    flying = REGISTRY.get_sample_value("http_requests_in_flight")
    for seconds in (0.005, 0.0051, 3.0, 100.0):
        request_started()
        assert REGISTRY.get_sample_value("http_requests_in_flight") == flying + 1
        observe_request("GET", "/t/histogram", 200, seconds)
    assert REGISTRY.get_sample_value("http_requests_in_flight") == flying
    assert {le: bucket(le) - before[le] for le in before} == {"0.005": 1, "0.01": 2, "5.0": 3, "+Inf": 4}
    assert sample("http_request_duration_seconds_count") == bucket("+Inf")
    assert sample("http_request_duration_seconds_sum") >= 103.0101 - 1e-9
    assert sample("http_requests_total", status="200") >= 4
    request_started()
    observe_request("BREW", "/t/histogram", 405, 0.001)
    assert REGISTRY.get_sample_value("http_requests_total",
                                     {"method": "OTHER", "route": "/t/histogram", "status": "405"}) >= 1
