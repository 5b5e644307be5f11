"""User administration: the admin API and `docman users` (ops.users_cli)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import psycopg
import pytest

from ops.users_cli import register
from server.auth.passwords import verify_password
from tests.conftest import Served


async def test_create_list_and_validation(served: Served) -> None:
    r = await served.client.post("/api/v1/users", json={"email": "eve@example.com", "role": "operator"})
    assert r.status_code == 201
    created = r.json()
    assert created["user"]["role"] == "operator" and len(created["password"]) >= 16  # generated, shown once
    await served.sign_in("eve@example.com", created["password"])
    chosen = await served.client.post("/api/v1/users", json={"email": "fay@example.com", "password": "fay-password"})
    assert chosen.status_code == 201 and chosen.json()["password"] is None
    listed = (await served.client.get("/api/v1/users")).json()
    assert [u["email"] for u in listed["items"]] == ["admin@example.com", "eve@example.com", "fay@example.com"]
    assert "password_hash" not in json.dumps(listed)
    dup = await served.client.post("/api/v1/users", json={"email": "EVE@example.com", "password": "whatever1"})
    assert dup.status_code == 409 and dup.json()["code"] == "user_exists"
    weak = await served.client.post("/api/v1/users", json={"email": "g@example.com", "password": "short"})
    assert weak.status_code == 400
    bad_email = await served.client.post("/api/v1/users", json={"email": "not-an-email", "password": "long-enough"})
    assert bad_email.status_code == 400 and bad_email.json()["code"] == "invalid_email"
    bad_role = await served.client.post("/api/v1/users", json={"email": "h@example.com", "role": "root"})
    assert bad_role.status_code == 400


async def test_the_last_admin_is_kept(served: Served) -> None:
    me = (await served.client.get("/api/v1/auth/me")).json()
    own = await served.client.post(f"/api/v1/users/{me['id']}/disable")
    assert own.status_code == 409 and own.json()["code"] == "self_change"
    demote = await served.client.put(f"/api/v1/users/{me['id']}/role", json={"role": "user"})
    assert demote.status_code == 409
    second = await served.make_user("second-admin@example.com", role="admin")
    assert (await second.client.put(f"/api/v1/users/{me['id']}/role", json={"role": "operator"})).status_code == 200
    last = await served.client.put(f"/api/v1/users/{second.id}/role", json={"role": "user"})
    assert last.status_code == 403  # the first admin is an operator now
    assert (await second.client.post(f"/api/v1/users/{me['id']}/disable")).status_code == 200
    missing = await second.client.post("/api/v1/users/00000000-0000-0000-0000-000000000000/disable")
    assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"


async def test_reset_password_ends_sessions(served: Served) -> None:
    user = await served.make_user("pat@example.com")
    r = await served.client.post(f"/api/v1/users/{user.id}/password", json={})
    assert r.status_code == 200
    new_password = r.json()["password"]
    assert (await user.client.get("/api/v1/auth/me")).json()["code"] == "token_revoked"
    old = await served.anon().post("/api/v1/auth/token", json={"username": user.email, "password": user.password})
    assert old.status_code == 401
    await served.sign_in(user.email, new_password)
    chosen = await served.client.post(f"/api/v1/users/{user.id}/password", json={"password": "chosen-password"})
    assert chosen.json()["password"] is None
    await served.sign_in(user.email, "chosen-password")


def _cli(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="docman")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        code = args.func(args)
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def test_users_cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCMAN_DATABASE_URL", db_url)
    monkeypatch.setenv("DOCMAN_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("server.logs.configure_logging", lambda *a, **k: None)  # keep the suite's sinks
    code, out, _ = _cli(["users", "create", "ops@example.com", "--role", "operator", "--password-stdin"], "ops-password\n")
    assert code == 0 and "created ops@example.com (operator)" in out and "Generated" not in out
    code, out, _ = _cli(["users", "create", "gen@example.com"])
    assert code == 0 and "Generated password for gen@example.com:" in out
    code, out, _ = _cli(["users", "list"])
    assert code == 0 and "ops@example.com" in out and "operator" in out and "active" in out
    code, _, err = _cli(["users", "create", "ops@example.com"])
    assert code == 1 and "already exists" in err
    assert _cli(["users", "disable", "ops@example.com"])[0] == 0
    listed = json.loads(_cli(["users", "list", "--json"])[1])
    assert next(u for u in listed["items"] if u["email"] == "ops@example.com")["disabled"] is True
    code, out, _ = _cli(["users", "reset-password", "ops@example.com", "--password-stdin"], "new-password\n")
    assert code == 0 and "password reset" in out
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE email = 'ops@example.com'").fetchone()
    assert row is not None and verify_password(row[0], "new-password")
    assert _cli(["users", "enable", "ops@example.com"])[0] == 0
    code, _, err = _cli(["users", "disable", "nobody@example.com"])
    assert code == 1 and "nobody@example.com" in err
