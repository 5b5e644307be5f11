"""Uploads through the HTTP API to a terminal state, and every document endpoint."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import psycopg

from tests.conftest import Served, upload, wait_for_status, wait_until
from tests.pdfs import make_encrypted_pdf, make_image_only_pdf, make_pdf, page_text

PAGES = [
    "Photosynthesis converts light energy into chemical energy. " * 3,
    "The mitochondria is the powerhouse of the cell and produces ATP. " * 3,
    "Quantum entanglement links the states of two particles. " * 3,
]


async def test_upload_reaches_ready_with_pages_chunks_and_vectors(served: Served, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "bio.pdf", PAGES).read_bytes()
    r = await upload(served.client, "bio.pdf", pdf)
    assert r.status_code == 202
    created = r.json()
    assert created["status"] == "queued" and created["duplicate"] is False
    assert created["sha256"] == hashlib.sha256(pdf).hexdigest()
    doc = await wait_for_status(served.client, created["id"])
    assert doc["status"] == "ready", doc
    assert doc["page_count"] == 3 and doc["progress"]["pages_done"] == 3
    assert doc["chunk_count"] >= 1
    await wait_until(lambda: served.rt.index.vectors_for(created["id"]) == doc["chunk_count"], 10)
    assert doc["embedding_model"] == "all-MiniLM-L6-v2"

    page = await served.client.get(f"/api/v1/documents/{created['id']}/pages/2")
    assert page.status_code == 200 and "mitochondria" in page.json()["text"]
    assert (await served.client.get(f"/api/v1/documents/{created['id']}/pages/4")).status_code == 404
    assert (await served.client.get(f"/api/v1/documents/{created['id']}/pages/0")).status_code == 404

    content = await served.client.get(f"/api/v1/documents/{created['id']}/content")
    assert content.status_code == 200 and content.content == pdf
    assert content.headers["content-type"].startswith("application/pdf")
    assert "bio.pdf" in content.headers["content-disposition"]

    with psycopg.connect(served.rt.conninfo) as conn:
        count = conn.execute(
            f"SELECT COUNT(*) FROM document_chunks WHERE document_id = '{created['id']}';"
        ).fetchone()
        row = conn.execute(
            f"SELECT id, title, status, upload_date FROM documents WHERE id = '{created['id']}';"
        ).fetchone()
    assert count == (doc["chunk_count"],)
    assert row is not None and row[1] == "bio" and row[2] == "ready"


async def test_duplicate_upload_returns_the_existing_document(served: Served, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "d.pdf", ["Duplicate detection by content, not by name."]).read_bytes()
    first = await upload(served.client, "one.pdf", pdf)
    second = await upload(served.client, "renamed.pdf", pdf)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["duplicate"] is True and second.json()["id"] == first.json()["id"]


async def test_racing_identical_uploads_make_one_document(served: Served, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "race.pdf", ["Two identical uploads racing each other."]).read_bytes()
    results = await asyncio.gather(*(upload(served.client, f"r{i}.pdf", pdf) for i in range(4)))
    ids = {r.json()["id"] for r in results}
    assert len(ids) == 1
    assert sorted(r.status_code for r in results).count(202) == 1
    with psycopg.connect(served.rt.conninfo) as conn:
        n = conn.execute("SELECT count(*) FROM documents WHERE sha256 = %s", (hashlib.sha256(pdf).hexdigest(),)).fetchone()
        jobs = conn.execute("SELECT count(*) FROM ingest_jobs WHERE document_id = %s", (ids.pop(),)).fetchone()
    assert n == (1,) and jobs == (1,)


async def test_bad_uploads_get_precise_errors_and_store_nothing(served: Served) -> None:
    empty = await upload(served.client, "empty.pdf", b"")
    assert empty.status_code == 400 and empty.json()["code"] == "empty_file"
    png = await upload(served.client, "x.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
    assert png.status_code == 415 and png.json()["code"] == "unsupported_type"
    missing = await served.client.post("/api/v1/documents", files={"other": ("a.txt", b"hi", "text/plain")})
    assert missing.status_code == 400 and missing.json()["code"] == "file_missing"
    listed = await served.client.get("/api/v1/documents/list")
    assert listed.json()["total"] == 0
    stored = list((served.rt.settings.storage.local_dir).rglob("original"))
    assert stored == []


async def test_upload_limit_names_the_setting(make_settings, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import serve_app

    async for s in serve_app(make_settings(DOCMAN_MAX_UPLOAD_BYTES="1K"), db_url):
        await s.wait_ready()
        r = await upload(s.client, "big.txt", b"x" * 5000, "text/plain")
        assert r.status_code == 413
        assert "DOCMAN_MAX_UPLOAD_BYTES" in r.json()["message"]
        assert (await s.client.get("/api/v1/documents/list")).json()["total"] == 0


async def test_failures_have_specific_codes(served: Served, tmp_path: Path) -> None:
    cases = {
        "pdf_encrypted": make_encrypted_pdf(tmp_path / "enc.pdf").read_bytes(),
        "no_text_layer": make_image_only_pdf(tmp_path / "scan.pdf").read_bytes(),
        "pdf_corrupt": b"%PDF-1.7\n" + b"\x00garbage" * 200,
    }
    ids = {}
    for code, content in cases.items():
        r = await upload(served.client, f"{code}.pdf", content)
        assert r.status_code == 202, r.text
        ids[code] = r.json()["id"]
    for code, doc_id in ids.items():
        doc = await wait_for_status(served.client, doc_id)
        assert doc["status"] == "failed" and doc["error_code"] == code, doc
        assert doc["error"]
        assert doc["vector_count"] == 0


async def test_page_limit_fails_naming_the_limit(make_settings, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import serve_app

    async for s in serve_app(make_settings(DOCMAN_MAX_PAGES="2"), db_url):
        await s.wait_ready()
        pdf = make_pdf(tmp_path / "three.pdf", ["one", "two", "three"]).read_bytes()
        doc = await wait_for_status(s.client, (await upload(s.client, "three.pdf", pdf)).json()["id"])
        assert doc["status"] == "failed" and doc["error_code"] == "too_many_pages"
        assert "2" in doc["error"]


async def test_text_and_markdown(served: Served) -> None:
    md = "# Notes\n\nThe aurora borealis appears near the poles.\n\n## More\n\nSolar wind drives it.\n".encode()
    r = await upload(served.client, "notes.md", md, "text/markdown")
    doc = await wait_for_status(served.client, r.json()["id"])
    assert doc["status"] == "ready" and doc["content_type"] == "text/markdown"
    page = await served.client.get(f"/api/v1/documents/{doc['id']}/pages/1")
    assert "aurora" in page.json()["text"]


async def test_list_paging_filter_and_sort(served: Served) -> None:
    ids = []
    for i in range(3):
        r = await upload(served.client, f"n{i}.txt", f"note number {i} about kittens".encode(), "text/plain")
        ids.append(r.json()["id"])
    for doc_id in ids:
        await wait_for_status(served.client, doc_id)
    page = (await served.client.get("/api/v1/documents/list", params={"limit": 2, "sort": "title", "order": "asc"})).json()
    assert page["total"] == 3 and [d["title"] for d in page["items"]] == ["n0", "n1"]
    rest = (await served.client.get("/api/v1/documents/list", params={"limit": 2, "offset": 2, "sort": "title", "order": "asc"})).json()
    assert [d["title"] for d in rest["items"]] == ["n2"]
    failed = (await served.client.get("/api/v1/documents/list", params={"status": "failed"})).json()
    assert failed["total"] == 0
    bad = await served.client.get("/api/v1/documents/list", params={"sort": "nope"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_sort"


async def test_delete_removes_file_rows_and_vectors(served: Served, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "gone.pdf", [page_text(1), page_text(2)]).read_bytes()
    doc_id = (await upload(served.client, "gone.pdf", pdf)).json()["id"]
    doc = await wait_for_status(served.client, doc_id)
    assert doc["vector_count"] > 0
    key = served.rt.settings.storage.local_dir / "documents" / doc_id / "original"
    assert key.exists()
    r = await served.client.delete(f"/api/v1/documents/{doc_id}")
    assert r.status_code == 204
    assert (await served.client.get(f"/api/v1/documents/{doc_id}")).status_code == 404
    assert served.rt.index.vectors_for(doc_id) == 0
    assert not key.exists()
    with psycopg.connect(served.rt.conninfo) as conn:
        assert conn.execute("SELECT count(*) FROM document_chunks WHERE document_id = %s", (doc_id,)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM document_pages WHERE document_id = %s", (doc_id,)).fetchone() == (0,)
    hits = await served.client.post("/api/v1/search", json={"query": "marker-1", "mode": "lexical"})
    assert hits.json()["results"] == []


async def test_reprocess_gives_the_same_chunks(served: Served, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "again.pdf", PAGES).read_bytes()
    doc_id = (await upload(served.client, "again.pdf", pdf)).json()["id"]
    before = await wait_for_status(served.client, doc_id)
    r = await served.client.post(f"/api/v1/documents/{doc_id}/reprocess")
    assert r.status_code == 202 and r.json()["status"] == "queued"
    after = await wait_for_status(served.client, doc_id)
    assert after["status"] == "ready"
    assert after["chunk_count"] == before["chunk_count"]
    # `ready` is durable in PostgreSQL; this process's index catches up within the sync interval
    await wait_until(lambda: served.rt.index.vectors_for(doc_id) == after["chunk_count"], 10)
    with psycopg.connect(served.rt.conninfo) as conn:
        ordinals = [r[0] for r in conn.execute(
            "SELECT ordinal FROM document_chunks WHERE document_id = %s ORDER BY ordinal", (doc_id,)).fetchall()]
    assert ordinals == list(range(after["chunk_count"]))


async def test_unknown_document_is_404(served: Served) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for method, path in [("GET", ""), ("GET", "/content"), ("GET", "/pages/1"), ("DELETE", ""), ("POST", "/reprocess")]:
        r = await served.client.request(method, f"/api/v1/documents/{missing}{path}")
        assert r.status_code == 404, (method, path)
        assert r.json()["code"] == "document_not_found"
