"""Tokens: issue, refresh rotation, reuse detection, logout, expired/invalid/revoked, disabled accounts."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
import psycopg
import pytest

from server.auth import tokens
from server.logs import log_ring
from server.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Served, serve_app

TOKEN, REFRESH, LOGOUT, ME = "/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/auth/me"


async def login(s: Served, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> Any:
    return await s.anon().post(TOKEN, json={"username": email, "password": password})


@pytest.fixture
def served(app_once: Served) -> Served:
    """This module's tests share one app: each makes its own users and tokens."""
    return app_once


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_lines(*words: str) -> list[str]:
    return [r.message for r in log_ring().records if all(w in r.message for w in words)]


async def test_issue_token_and_me(served: Served) -> None:
    r = await login(served)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert r.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], served.rt.extras["auth"].secret, algorithms=["HS256"])
    assert {"sub", "role", "exp", "iat", "jti", "email"} <= set(claims)
    assert claims["role"] == "admin" and claims["exp"] - claims["iat"] == 900
    me = await served.anon().get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == ADMIN_EMAIL and me.json()["id"] == claims["sub"]


async def test_wrong_password_and_unknown_user_look_the_same(served: Served) -> None:
    wrong = await login(served, password="nope-nope-nope")
    unknown = await login(served, email="nobody@example.com")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.json()["code"] == "invalid_credentials"
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert log_lines("token request refused", "invalid credentials")


async def test_missing_and_invalid_tokens_are_precise(served: Served) -> None:
    anon = served.anon()
    missing = await anon.get(ME)
    assert missing.status_code == 401 and missing.json()["code"] == "token_missing"
    assert missing.headers["www-authenticate"] == 'Bearer realm="docman"'
    secret = served.rt.extras["auth"].secret
    good = tokens.issue_access(user_id=str(served.rt.extras["default_owner"]), role="admin", email=ADMIN_EMAIL,
                               ttl=60, family=None)
    forged = tokens.encode("another-secret-" + "y" * 32, good)
    unsigned = jwt.encode({"sub": good.sub, "jti": "x", "iat": 1, "exp": 2**40}, key=None, algorithm="none")  # type: ignore[arg-type]
    for token in ("garbage", forged, unsigned, tokens.encode(secret, good)[:-4] + "AAAA"):
        r = await anon.get(ME, headers=bearer(token))
        assert r.status_code == 401 and r.json()["code"] == "token_invalid", (token, r.text)
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
    basic = await anon.get(ME, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.json()["code"] == "token_invalid"
    assert log_lines("invalid token rejected", "token_invalid")  # the guide's |= "token" |= "invalid"


async def test_expired_token(served: Served) -> None:
    secret = served.rt.extras["auth"].secret
    claims = tokens.AccessClaims(sub=str(served.rt.extras["default_owner"]), role="admin", email=ADMIN_EMAIL,
                                 jti="expired1", iat=int(time.time()) - 1000, exp=int(time.time()) - 10)
    r = await served.anon().get(ME, headers=bearer(tokens.encode(secret, claims)))
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    assert "/api/v1/auth/refresh" in r.json()["message"]
    assert log_lines("token", "invalid", "token_expired")


async def test_refresh_rotates_and_reuse_revokes_the_family(served: Served) -> None:
    first = (await login(served)).json()
    r = await served.anon().post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await served.anon().get(ME, headers=bearer(second["access_token"]))).status_code == 200
    reuse = await served.anon().post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "token_revoked"
    assert log_lines("refresh token reuse detected")
    # The whole family is gone: the rotated refresh token and the access tokens issued with the family.
    after = await served.anon().post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401 and after.json()["code"] == "token_revoked"
    for access in (first["access_token"], second["access_token"]):
        denied = await served.anon().get(ME, headers=bearer(access))
        assert denied.status_code == 401 and denied.json()["code"] == "token_revoked"
    # Another sign-in is untouched.
    assert (await served.client.get(ME)).status_code == 200


async def test_unknown_refresh_token(served: Served) -> None:
    r = await served.anon().post(REFRESH, json={"refresh_token": "made-up"})
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"
    bad = await served.anon().post(REFRESH, json={"token": "x"})
    assert bad.status_code == 400


async def test_logout_revokes_the_access_token_and_its_family(served: Served) -> None:
    pair = (await login(served)).json()
    out = await served.anon().post(LOGOUT, headers=bearer(pair["access_token"]))
    assert out.status_code == 204
    r = await served.anon().get(ME, headers=bearer(pair["access_token"]))
    assert r.status_code == 401 and r.json()["code"] == "token_revoked"
    refreshed = await served.anon().post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert refreshed.json()["code"] == "token_revoked"
    # With only the refresh token (the access token may have expired already).
    other = (await login(served)).json()
    assert (await served.anon().post(LOGOUT, json={"refresh_token": other["refresh_token"]})).status_code == 204
    assert (await served.anon().post(REFRESH, json={"refresh_token": other["refresh_token"]})).status_code == 401
    nothing = await served.anon().post(LOGOUT)
    assert nothing.status_code == 401 and nothing.json()["code"] == "token_missing"


async def test_revocation_reaches_the_database_for_other_replicas(served: Served) -> None:
    pair = (await login(served)).json()
    await served.anon().post(LOGOUT, headers=bearer(pair["access_token"]))
    served.rt.extras["auth"].revoked.clear()  # as another replica would see it: only the database knows
    served.rt.extras["auth"].sessions.clear()
    r = await served.anon().get(ME, headers=bearer(pair["access_token"]))
    assert r.json()["code"] == "token_revoked"


async def test_disabled_account(served: Served) -> None:
    user = await served.make_user("dora@example.com")
    assert (await user.client.get(ME)).status_code == 200
    pair = (await login(served, user.email, user.password)).json()
    assert (await served.client.post(f"/api/v1/users/{user.id}/disable")).status_code == 200
    r = await user.client.get(ME)
    assert r.status_code == 401 and r.json()["code"] == "account_disabled"
    again = await login(served, user.email, user.password)
    assert again.status_code == 401 and again.json()["code"] == "account_disabled"
    refreshed = await served.anon().post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert refreshed.json()["code"] == "account_disabled"
    assert (await served.client.post(f"/api/v1/users/{user.id}/enable")).status_code == 200
    assert (await login(served, user.email, user.password)).status_code == 200
    # Sessions ended by the disable stay ended.
    assert (await user.client.get(ME)).json()["code"] == "token_revoked"


async def test_a_role_change_applies_to_issued_tokens(served: Served) -> None:
    user = await served.make_user("rita@example.com")
    deps = await user.client.get("/api/v1/health/dependencies")
    assert "details" not in deps.json()
    r = await served.client.put(f"/api/v1/users/{user.id}/role", json={"role": "operator"})
    assert r.status_code == 200 and r.json()["role"] == "operator"
    assert "details" in (await user.client.get("/api/v1/health/dependencies")).json()


@pytest.fixture
async def replicas(make_settings: Callable[..., Settings], db_url: str, tmp_path: Any) -> AsyncIterator[tuple[Served, Served]]:
    """Two app instances on one database, each with its own data directory and no DOCMAN_JWT_SECRET."""
    a_settings = make_settings(DOCMAN_JWT_SECRET="", DOCMAN_EMBEDDED_WORKERS="0")
    b_settings = make_settings(DOCMAN_JWT_SECRET="", DOCMAN_EMBEDDED_WORKERS="0",
                               DOCMAN_DATA_DIR=str(tmp_path / "replica-b"))
    async for a in serve_app(a_settings, db_url):
        await a.wait_ready()
        async for b in serve_app(b_settings, db_url):
            await b.wait_ready()
            yield a, b


async def test_generated_secret_is_shared_by_replicas(replicas: tuple[Served, Served]) -> None:
    a, b = replicas
    token = (await login(a)).json()["access_token"]
    assert (await b.anon().get(ME, headers=bearer(token))).status_code == 200
    for served in (a, b):
        path = served.rt.settings.data_dir / "jwt-secret"
        assert path.read_text().strip() == served.rt.extras["auth"].secret
        assert path.stat().st_mode & 0o777 == 0o600
    with psycopg.connect(a.rt.conninfo) as conn:
        row = conn.execute("SELECT value FROM system_state WHERE key = 'jwt_secret'").fetchone()
    assert row is not None and row[0] == a.rt.extras["auth"].secret
