"""Lockout, rate limits (429 + Retry-After), the request-size 413, security headers, CORS,
and what anonymous callers see of /health/dependencies and /metrics."""

from __future__ import annotations

from collections.abc import Callable

from server.auth.ratelimit import RateLimiter, TokenBucket
from server.settings import Settings, load_settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, serve_app, upload

TOKEN = "/api/v1/auth/token"


def test_token_bucket_refills_evenly() -> None:
    bucket = TokenBucket(capacity=2, rate=1.0, tokens=2, updated=0.0)
    assert bucket.take(0.0) == 0 and bucket.take(0.0) == 0
    assert bucket.take(0.0) == 1.0
    assert bucket.take(0.5) == 0.5
    assert bucket.take(1.0) == 0


def test_limiter_is_per_key_and_can_be_disabled() -> None:
    now = [0.0]
    cfg = load_settings({"DOCMAN_RATE_LIMIT_SEARCH": "1"}).rate_limit
    limiter = RateLimiter(cfg, clock=lambda: now[0])
    limiter.check_route("search", "alice", "1.2.3.4")
    limiter.check_route("search", "bob", "1.2.3.4")  # another user from the same address
    try:
        limiter.check_route("search", "alice", "1.2.3.4")
    except Exception as exc:
        assert exc.headers["Retry-After"] == "60"  # type: ignore[attr-defined]
    else:
        raise AssertionError("the second search in a minute passed")
    off = RateLimiter(load_settings({"DOCMAN_RATE_LIMIT_SEARCH": "1", "DOCMAN_RATE_LIMIT_ENABLED": "false"}).rate_limit)
    for _ in range(5):
        off.check_route("search", "alice", "1.2.3.4")


async def test_failed_logins_lock_the_account(make_settings: Callable[..., Settings], db_url: str) -> None:
    settings = make_settings(DOCMAN_LOGIN_MAX_FAILURES="3", DOCMAN_LOGIN_LOCKOUT_SECONDS="120")
    async for s in serve_app(settings, db_url):
        await s.wait_ready()
        user = await s.make_user("lou@example.com")
        anon = s.anon()
        for _ in range(2):
            r = await anon.post(TOKEN, json={"username": user.email, "password": "wrong-password"})
            assert r.status_code == 401
        locked = await anon.post(TOKEN, json={"username": user.email, "password": "wrong-password"})
        assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
        assert 100 < int(locked.headers["retry-after"]) <= 120
        right = await anon.post(TOKEN, json={"username": user.email, "password": user.password})
        assert right.status_code == 429 and right.json()["code"] == "account_locked"
        listed = (await s.client.get("/api/v1/users")).json()["items"]
        assert next(u for u in listed if u["email"] == user.email)["locked_until"]
        assert (await s.client.post(f"/api/v1/users/{user.id}/enable")).status_code == 200  # unlocks
        assert (await anon.post(TOKEN, json={"username": user.email, "password": user.password})).status_code == 200


async def test_login_rate_limit_per_address(make_settings: Callable[..., Settings], db_url: str) -> None:
    async for s in serve_app(make_settings(DOCMAN_RATE_LIMIT_LOGIN="2"), db_url):
        await s.wait_ready()  # one sign-in (the admin's)
        anon = s.anon()
        assert (await anon.post(TOKEN, json={"username": "x@example.com", "password": "p"})).status_code == 401
        r = await anon.post(TOKEN, json={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["detail"]["setting"] == "DOCMAN_RATE_LIMIT_LOGIN"


async def test_search_and_upload_limits_per_user(make_settings: Callable[..., Settings], db_url: str) -> None:
    async for s in serve_app(make_settings(DOCMAN_RATE_LIMIT_SEARCH="2", DOCMAN_RATE_LIMIT_UPLOAD="1"), db_url):
        await s.wait_ready()
        bob = await s.make_user("bob@example.com")
        query = {"query": "anything", "mode": "lexical"}
        for _ in range(2):
            assert (await s.client.post("/api/v1/search", json=query)).status_code == 200
        limited = await s.client.post("/api/v1/search", json=query)
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
        assert "DOCMAN_RATE_LIMIT_SEARCH" in limited.json()["message"] and limited.headers["retry-after"]
        assert (await bob.client.post("/api/v1/search", json=query)).status_code == 200  # per user
        assert (await upload(bob.client, "a.txt", b"first", "text/plain")).status_code == 202
        second = await upload(bob.client, "b.txt", b"second", "text/plain")
        assert second.status_code == 429 and second.json()["detail"]["setting"] == "DOCMAN_RATE_LIMIT_UPLOAD"
        assert (await s.client.get("/api/v1/documents/list")).status_code == 200  # listing is not limited


async def test_limit_per_client_address(make_settings: Callable[..., Settings], db_url: str) -> None:
    async for s in serve_app(make_settings(DOCMAN_RATE_LIMIT_ADDRESS="3"), db_url):
        await s.wait_ready()
        alice, bob = await s.make_user("alice@example.com"), await s.make_user("bob@example.com")  # one address
        query = {"query": "anything", "mode": "lexical"}
        for client in (alice.client, alice.client, bob.client):
            assert (await client.post("/api/v1/search", json=query)).status_code == 200
        r = await bob.client.post("/api/v1/search", json=query)
        assert r.status_code == 429 and r.json()["detail"]["setting"] == "DOCMAN_RATE_LIMIT_ADDRESS"


async def test_body_over_the_request_limit_names_the_setting(make_settings: Callable[..., Settings], db_url: str) -> None:
    async for s in serve_app(make_settings(DOCMAN_MAX_REQUEST_BYTES="2K"), db_url):
        await s.wait_ready()
        r = await upload(s.client, "big.txt", b"x" * 5000, "text/plain")
        assert r.status_code == 413
        body = r.json()
        assert body["code"] == "payload_too_large"
        assert "DOCMAN_MAX_REQUEST_BYTES" in body["message"] and "2048" in body["message"]
        assert body["detail"] == {"limit_bytes": 2048, "setting": "DOCMAN_MAX_REQUEST_BYTES"}
        anon = await s.anon().post("/api/v1/documents", files={"file": ("big.txt", b"x" * 5000, "text/plain")})
        assert anon.status_code == 401  # refused before the body is read


async def test_security_headers_everywhere(make_settings: Callable[..., Settings], db_url: str) -> None:
    async for s in serve_app(make_settings(), db_url):
        await s.wait_ready()
        for path in ("/api/v1/health/live", "/nowhere", "/api/v1/documents/list"):
            r = await s.anon().get(path)
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["content-security-policy"].startswith("default-src 'none'")
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            assert "referrer-policy" not in r.headers  # document-only headers: API answers are never pages
        docs = await s.anon().get("/schema/swagger")
        assert docs.status_code == 200
        assert docs.headers["x-content-type-options"] == "nosniff" and docs.headers["x-frame-options"] == "DENY"
        assert docs.headers["referrer-policy"] == "no-referrer"
        assert docs.headers["cross-origin-opener-policy"] == "same-origin"
        csp = docs.headers["content-security-policy"]
        assert "https://cdn.jsdelivr.net" in csp and "script-src" in csp
        assert (await s.anon().get("/schema/openapi.json")).json()["components"]["securitySchemes"]["BearerToken"]


async def test_cors_preflight_allows_the_authorization_header(make_settings: Callable[..., Settings], db_url: str) -> None:
    async for s in serve_app(make_settings(DOCMAN_CORS_ORIGINS="https://app.example.org"), db_url):
        await s.wait_ready()
        pre = await s.anon().options("/api/v1/documents/list", headers={
            "Origin": "https://app.example.org", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert pre.status_code in (200, 204)
        assert pre.headers["access-control-allow-origin"] == "https://app.example.org"
        assert "authorization" in pre.headers["access-control-allow-headers"].lower()
        r = await s.client.get("/api/v1/documents/list", headers={"Origin": "https://app.example.org"})
        assert r.headers["access-control-allow-origin"] == "https://app.example.org"
        assert "retry-after" in r.headers["access-control-expose-headers"].lower()
        other = await s.client.get("/api/v1/documents/list", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_dependencies_details_are_for_operators(make_settings: Callable[..., Settings], db_url: str) -> None:
    async for s in serve_app(make_settings(), db_url):
        await s.wait_ready()
        public = (await s.anon().get("/api/v1/health/dependencies")).json()
        assert set(public) == {"status", "version", "timestamp", "components"}
        user = await s.make_user("u@example.com")
        assert "details" not in (await user.client.get("/api/v1/health/dependencies")).json()
        operator = await s.make_user("op@example.com", role="operator")
        assert "details" in (await operator.client.get("/api/v1/health/dependencies")).json()
        bad = await s.anon().get("/api/v1/health/dependencies", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401  # a token, if sent, must be valid


async def test_private_metrics_need_an_operator(make_settings: Callable[..., Settings], db_url: str) -> None:
    async for s in serve_app(make_settings(DOCMAN_METRICS_PUBLIC="false"), db_url):
        await s.wait_ready()
        anon = await s.anon().get("/metrics")
        assert anon.status_code == 401 and anon.json()["code"] == "token_missing"
        user = await s.make_user("u@example.com")
        assert (await user.client.get("/metrics")).status_code == 403
        operator = await s.make_user("op@example.com", role="operator")
        r = await operator.client.get("/metrics")
        assert r.status_code == 200 and "http_requests_total" in r.text
    async for s in serve_app(make_settings(), db_url):
        await s.wait_ready()
        assert (await s.anon().get("/metrics")).status_code == 200  # DOCMAN_METRICS_PUBLIC=true (default)
