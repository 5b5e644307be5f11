"""`docman ops` commands as an operator runs them: subprocesses against a real HTTP server,
including deliberately broken cases they must detect and, where they promise to, repair."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.auth.live import free_port, http, live_server
from tests.pdfs import make_pdf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(make_settings, db_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], object, str]]:  # type: ignore[no-untyped-def]
    settings = make_settings()
    with live_server(settings, db_url) as base:
        env = {**os.environ, "DOCMAN_SERVER": base, "DOCMAN_EMAIL": settings.auth.admin_email,
               "DOCMAN_PASSWORD": settings.auth.admin_password or "", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
        yield base, env, settings, db_url


def ops(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "ops.cli", "ops", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    return proc.returncode, proc.stdout + proc.stderr


def _upload_ready(base: str, settings, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    status, body = http("POST", f"{base}/api/v1/auth/token",
                        {"username": settings.auth.admin_email, "password": settings.auth.admin_password})
    token = body["access_token"]
    pdf = make_pdf(tmp_path / "known.pdf", ["Zebras graze on the savanna at dawn. " * 10, "Glaciers carve deep valleys. " * 10])
    import httpx

    r = httpx.post(f"{base}/api/v1/documents", files={"file": ("known.pdf", pdf.read_bytes(), "application/pdf")},
                   headers={"Authorization": f"Bearer {token}"})
    doc_id = r.json()["id"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if http("GET", f"{base}/api/v1/documents/{doc_id}", token=token)[1]["status"] == "ready":
            return doc_id
        time.sleep(0.3)
    raise AssertionError("document did not become ready")


def test_guide_scripts_give_correct_verdicts(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, env, settings, db_url = server
    doc_id = _upload_ready(base, settings, tmp_path)

    code, out = ops(env, "verify-faiss-index")
    assert code == 0 and out.startswith("PASS"), out
    code, out = ops(env, "check-vector-consistency", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out = ops(env, "verify-document-vectors", f"--document-id={doc_id}")
    assert code == 0, out
    code, out = ops(env, "test-vector-search", "--text=zebras graze on the savanna", f"--document-id={doc_id}")
    assert code == 0 and "rank 1" in out, out
    code, out = ops(env, "benchmark-vector-search", "--queries=20", "--api-queries=3")
    assert code == 0 and "p95" in out, out
    code, out = ops(env, "test-llm-service", "--prompt=Hello, how are you?")
    assert code == 1 and "not configured" in out, out
    code, out = ops(env, "estimate-token-usage", "--query=what grazes on the savanna?", "--documents=3")
    assert code == 0 and "prompt tokens (estimated)" in out and "fits" in out, out

    # A chunk row whose vector is missing: detected, then repaired by reprocessing.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE document_chunks SET embedding = NULL WHERE id = "
                     "(SELECT min(id) FROM document_chunks WHERE document_id = %s)", (doc_id,))
    code, out = ops(env, "check-vector-consistency")
    assert code == 1 and "INCONSISTENT" in out, out
    code, out = ops(env, "verify-document-vectors", f"--document-id={doc_id}")
    assert code == 1 and "reprocess-document" in out, out
    code, out = ops(env, "reprocess-document", f"--document-id={doc_id}")
    assert code == 0 and "ready" in out, out
    assert ops(env, "verify-document-vectors", f"--document-id={doc_id}")[0] == 0
    assert ops(env, "check-vector-consistency")[0] == 0

    # A corrupted index file: detected, rebuilt with a backup, and the backup restores.
    code, out = ops(env, "rebuild-vector-index", "--backup")
    assert code == 0 and "restore with" in out, out
    good_backup = out.split("restore-vector-index --backup ")[1].split()[0]
    index_file = settings.index.dir / "faiss.index"
    data = bytearray(index_file.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 32] = os.urandom(32)
    index_file.write_bytes(bytes(data))
    code, out = ops(env, "verify-faiss-index")
    assert code == 1 and "checksum" in out, out
    code, out = ops(env, "rebuild-vector-index", "--backup")
    assert code == 0, out
    corrupt_backup = out.split("restore-vector-index --backup ")[1].split()[0]
    assert ops(env, "verify-faiss-index")[0] == 0
    code, out = ops(env, "restore-vector-index", f"--backup={corrupt_backup}")
    assert code == 2 and "cannot be restored" in out, out
    code, out = ops(env, "restore-vector-index", f"--backup={good_backup}")
    assert code == 0, out


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "DOCMAN_SERVER": "http://127.0.0.1:9", "DOCMAN_EMAIL": "a@b.c", "DOCMAN_PASSWORD": "x",
           "XDG_CONFIG_HOME": str(tmp_path)}
    code, out = ops(env, "verify-faiss-index")
    assert code == 2 and "reach" in out.lower(), out



@pytest.mark.skipif(shutil.which("prometheus-alertmanager") is None, reason="Debian's prometheus-alertmanager not installed")
def test_alerts_reach_a_real_alertmanager(tmp_path: Path) -> None:
    port = free_port()
    am = subprocess.Popen(["prometheus-alertmanager", f"--config.file={ROOT / 'ops/alertmanager/alertmanager.yml'}",
                           f"--storage.path={tempfile.mkdtemp()}", f"--web.listen-address=127.0.0.1:{port}",
                           "--cluster.listen-address="], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
        code, out = ops(env, "test-alerts", f"--alertmanager={url}")
        assert code == 0 and "is active" in out, out
    finally:
        am.terminate()
        am.wait(timeout=10)
    code, out = ops({**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}, "test-alerts", f"--alertmanager=http://127.0.0.1:{port}")
    assert code == 1 and "unreachable" in out, out


def test_llm_commands_against_an_openai_compatible_server(make_settings, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import FakeOpenAI, server_error

    with FakeOpenAI() as llm:
        settings = make_settings(DOCMAN_LLM_BASE_URL=llm.base_url, DOCMAN_LLM_MAX_RETRIES="0",
                                 DOCMAN_LLM_CONTEXT_WINDOW="600", DOCMAN_LLM_MAX_TOKENS="500")
        with live_server(settings, db_url) as base:
            env = {**os.environ, "DOCMAN_SERVER": base, "DOCMAN_EMAIL": settings.auth.admin_email,
                   "DOCMAN_PASSWORD": settings.auth.admin_password or "", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
            code, out = ops(env, "test-llm-service", "--prompt=Hello, how are you?")
            assert code == 0 and "LLM ok" in out, out
            llm.script(server_error(500))
            code, out = ops(env, "test-llm-service", "--prompt=Hello again")
            assert code == 1 and "llm_unavailable" in out, out
            _upload_ready(base, settings, tmp_path)
            code, out = ops(env, "estimate-token-usage", "--query=zebras graze", "--documents=3")
            assert code == 1 and "EXCEEDS" in out, out
