"""`docman login` / `logout` against the real server, and the `--local` child-process manager."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.tui.live import LiveServer
from tui.__main__ import main
from tui.credentials import CredentialStore
from tui.local import LocalServer, LocalServerError, free_port

READY_STUB = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b'{"status":"ready","checks":{}}')
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_login_saves_a_private_session_and_logout_removes_it(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("DOCMAN_PASSWORD", ADMIN_PASSWORD)
    assert main(["login", "--server", live_server.url, "--email", ADMIN_EMAIL]) == 0
    assert f"as {ADMIN_EMAIL} (admin)" in capsys.readouterr().out
    store = CredentialStore()
    saved = store.load()
    assert saved is not None and saved.server == live_server.url and saved.email == ADMIN_EMAIL
    assert stat.S_IMODE(store.file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.file.parent.stat().st_mode) == 0o700
    assert main(["logout"]) == 0
    assert store.load() is None


def test_login_with_a_wrong_password_explains(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("DOCMAN_PASSWORD", "not-the-password")
    assert main(["login", "--server", live_server.url, "--email", "nobody@example.com"]) == 1
    assert "Incorrect email or password" in capsys.readouterr().err


def test_local_server_waits_for_ready_and_stops(tmp_path: Path) -> None:
    port = free_port()
    server = LocalServer(
        port=port,
        log_path=tmp_path / "serve.log",
        command=[sys.executable, "-c", READY_STUB, str(port)],
        ready_timeout=20,
    )
    with server:
        assert server.process is not None and server.process.poll() is None
        assert server.url == f"http://127.0.0.1:{port}"
        process = server.process
    assert process.poll() is not None


def test_local_server_that_exits_reports_its_log(tmp_path: Path) -> None:
    server = LocalServer(
        log_path=tmp_path / "serve.log",
        ready_timeout=20,
        command=[sys.executable, "-c", "print('no database here'); raise SystemExit(3)"],
    )
    with pytest.raises(LocalServerError, match="no database here"):
        server.start()
