"""The operators' guide's commands (sections 2.1, 2.8 and 3.1), verbatim, with curl against a real server.

Placeholders are filled in exactly as an operator would: `<api-host>:<port>`, `YOUR_TOKEN`,
`YOUR_REFRESH_TOKEN`, and `$TOKEN` from the environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from server.logs import log_ring
from tests.auth.conftest import Live

GUIDE = Path("/work/shared/spec/troubleshooting-guide.md")

LIVE = "curl http://<api-host>:<port>/api/v1/health/live"
READY = "curl http://<api-host>:<port>/api/v1/health/ready"
DEPENDENCIES = "curl http://<api-host>:<port>/api/v1/health/dependencies"
LIVE_VERBOSE = "curl -v http://<api-host>:<port>/api/v1/health/live"
LIST = """curl -v -H "Authorization: Bearer $TOKEN" \\
  http://<api-host>:<port>/api/v1/documents/list"""
DECODE = "echo YOUR_TOKEN | cut -d '.' -f 2 | base64 -d 2>/dev/null | jq"
TOKEN = """curl -X POST http://<api-host>:<port>/api/v1/auth/token \\
  -H "Content-Type: application/json" \\
  -d '{"username":"test@example.com","password":"password"}'"""
REFRESH = """curl -X POST http://<api-host>:<port>/api/v1/auth/refresh \\
  -H "Content-Type: application/json" \\
  -d '{"refresh_token":"YOUR_REFRESH_TOKEN"}'"""
LOKI_QUERY = '{service="api"} |= "token" |= "invalid"'

pytestmark = pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_commands_are_the_guides() -> None:
    if not GUIDE.exists():
        pytest.skip("the operators' guide is not next to this checkout")
    guide = _squash(GUIDE.read_text(encoding="utf-8"))
    for command in (LIVE, READY, DEPENDENCIES, LIVE_VERBOSE, LIST, DECODE, TOKEN, REFRESH, LOKI_QUERY):
        assert _squash(command) in guide, command


def run(command: str, live: Live, env: dict[str, str] | None = None, **values: str) -> subprocess.CompletedProcess[str]:
    text = command.replace("<api-host>:<port>", live.base.removeprefix("http://"))
    for name, value in values.items():
        text = text.replace(name, value)
    return subprocess.run(["bash", "-c", text], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def tokens(live: Live) -> dict[str, str]:
    live.create_user("test@example.com", "password")
    result = run(TOKEN, live)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_health_commands(live: Live) -> None:
    assert json.loads(run(LIVE, live).stdout) == {"status": "ok"}
    assert json.loads(run(READY, live).stdout)["status"] == "ready"
    deps = json.loads(run(DEPENDENCIES, live).stdout)
    assert set(deps) == {"status", "version", "timestamp", "components"}  # public: the guide's fields only
    assert deps["components"]["database"] == "ok"
    verbose = run(LIVE_VERBOSE, live)
    assert "< HTTP/1.1 200" in verbose.stderr
    assert "x-content-type-options: nosniff" in verbose.stderr.lower()


def test_token_command(tokens: dict[str, str]) -> None:
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900


def test_decode_command_shows_the_claims(live: Live, tokens: dict[str, str]) -> None:
    result = run(DECODE, live, YOUR_TOKEN=tokens["access_token"])
    assert result.returncode == 0, result.stderr
    claims = json.loads(result.stdout)
    assert {"sub", "role", "exp", "iat", "jti", "email"} <= set(claims)
    assert claims["email"] == "test@example.com" and claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 900
    # Even without the guide's 2>/dev/null, base64 -d has nothing to complain about.
    bare = run("echo YOUR_TOKEN | cut -d '.' -f 2 | base64 -d", live, YOUR_TOKEN=tokens["access_token"])
    assert bare.returncode == 0 and bare.stderr == ""
    assert json.loads(bare.stdout) == claims


def test_authenticated_list_command(live: Live, tokens: dict[str, str]) -> None:
    result = run(LIST, live, env={"TOKEN": tokens["access_token"]})
    assert "< HTTP/1.1 200" in result.stderr, result.stderr
    body = json.loads(result.stdout)
    assert body["items"] == [] and body["total"] == 0


def test_without_or_with_a_bad_token_the_list_is_refused(live: Live) -> None:
    missing = run(LIST, live, env={"TOKEN": ""})
    assert "< HTTP/1.1 401" in missing.stderr
    assert 'www-authenticate: bearer realm="docman"' in missing.stderr.lower()
    assert json.loads(missing.stdout)["code"] == "token_invalid"  # "Bearer " with nothing after it
    log_ring().records.clear()
    bad = run(LIST, live, env={"TOKEN": "not.a.token"})
    assert "< HTTP/1.1 401" in bad.stderr
    assert json.loads(bad.stdout)["code"] == "token_invalid"
    # The guide's Loki query: {service="api"} |= "token" |= "invalid"
    lines = [r.message for r in log_ring().records if r.service == "api"]
    assert any("token" in m and "invalid" in m for m in lines), lines


def test_refresh_command_rotates(live: Live) -> None:
    pair = live.login("test@example.com", "password")
    first = run(REFRESH, live, YOUR_REFRESH_TOKEN=pair["refresh_token"])
    rotated = json.loads(first.stdout)
    assert set(rotated) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert rotated["refresh_token"] != pair["refresh_token"]
    again = json.loads(run(REFRESH, live, YOUR_REFRESH_TOKEN=pair["refresh_token"]).stdout)
    assert again["code"] == "token_revoked"  # reuse revokes the family, rotated token included
    assert json.loads(run(REFRESH, live, YOUR_REFRESH_TOKEN=rotated["refresh_token"]).stdout)["code"] == "token_revoked"
