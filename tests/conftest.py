"""Suite-wide fixtures: a real PostgreSQL (embedded pgserver, or TEST_DATABASE_URL), a fresh
database per test that needs one, settings rooted in a temporary directory, and the app served
in-process with its lifespan running."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from psycopg.conninfo import make_conninfo

from server.app import create_app
from server.logs import configure_logging
from server.settings import Settings, load_settings

_db_counter = itertools.count(1)
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-123"


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    configure_logging("DEBUG", json=False, ring_size=20000)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """Conninfo of a server on which tests may create databases."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    import pgserver

    directory = Path(tempfile.mkdtemp(prefix="docman-test-pg-"))
    server = pgserver.get_server(directory, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def create_database(admin_url: str, prefix: str = "t") -> str:
    name = f"docman_{prefix}_{os.getpid()}_{next(_db_counter)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(admin_url, dbname=name)


@pytest.fixture
def db_url(pg_admin_url: str) -> str:
    """A new, empty database for this test."""
    return create_database(pg_admin_url)


def settings_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        "DOCMAN_DATA_DIR": str(data_dir),
        "DOCMAN_EMBEDDED_WORKERS": "1",
        "DOCMAN_WORKER_POLL_INTERVAL": "0.2",
        "DOCMAN_INDEX_SYNC_INTERVAL": "0.2",
        "DOCMAN_ADMIN_EMAIL": ADMIN_EMAIL,
        "DOCMAN_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DOCMAN_JWT_SECRET": "test-secret-" + "x" * 32,
    }
    env.update(overrides)
    return env


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: str) -> Settings:
        return load_settings(settings_env(tmp_path / "data", **overrides))

    return build


async def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> None:
    """Poll `predicate` (sync or async) until truthy; fail the test on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class UserClient:
    """Another account on the served app: its id, email, role and a client sending its token."""

    def __init__(self, user_id: str, email: str, role: str, password: str, client: httpx.AsyncClient) -> None:
        self.id, self.email, self.role, self.password, self.client = user_id, email, role, password, client


class Served:
    """An app with its lifespan running and a client talking HTTP to it in-process.

    After `wait_ready()` the client is signed in as the first admin (DOCMAN_ADMIN_PASSWORD).
    """

    def __init__(self, app: Litestar, client: AsyncTestClient[Litestar]) -> None:
        self.app = app
        self.client = client

    @property
    def rt(self) -> Any:
        return self.app.state.rt

    async def wait_ready(self, timeout: float = 60.0) -> None:
        async def ready() -> bool:
            return (await self.client.get("/api/v1/health/ready")).status_code == 200

        await wait_until(ready, timeout, 0.1)
        token = await self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.client.headers["Authorization"] = f"Bearer {token}"

    async def sign_in(self, email: str, password: str) -> str:
        """An access token for the account (fails the test if refused)."""
        r = await self.anon().post("/api/v1/auth/token", json={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def anon(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        """A client on the same running app without a token (or with `headers`).

        It shares the main client's portal, so requests run on the app's event loop (the one its
        pool and background tasks live on), like the main client's.
        """
        client: AsyncTestClient[Litestar] = AsyncTestClient(self.app, timeout=60)
        client.blocking_portal = self.client.blocking_portal
        if headers:
            client.headers.update(headers)
        return client

    def client_for(self, token: str) -> httpx.AsyncClient:
        return self.anon({"Authorization": f"Bearer {token}"})

    async def make_user(self, email: str, role: str = "user", password: str = "user-password-123") -> UserClient:
        """Create an account through the admin API and sign it in."""
        r = await self.client.post("/api/v1/users", json={"email": email, "role": role, "password": password})
        assert r.status_code == 201, r.text
        token = await self.sign_in(email, password)
        return UserClient(r.json()["user"]["id"], email, role, password, self.client_for(token))


async def serve_app(settings: Settings, conninfo: str) -> AsyncIterator[Served]:
    app = create_app(settings, conninfo=conninfo)
    async with AsyncTestClient(app, timeout=60) as client:
        yield Served(app, client)


@pytest.fixture
async def served(make_settings: Callable[..., Settings], db_url: str) -> AsyncIterator[Served]:
    """The app on a fresh database with default (embedded-style) settings, ready."""
    async for s in serve_app(make_settings(), db_url):
        await s.wait_ready()
        yield s


async def wait_for_status(client: Any, doc_id: str, statuses: tuple[str, ...] = ("ready", "failed"), timeout: float = 90.0) -> dict[str, Any]:
    """Poll a document until its status is one of `statuses`; return its body."""
    body: dict[str, Any] = {}

    async def reached() -> bool:
        nonlocal body
        r = await client.get(f"/api/v1/documents/{doc_id}")
        body = r.json()
        return r.status_code == 200 and body["status"] in statuses

    await wait_until(reached, timeout, 0.1)
    return body


async def upload(client: Any, name: str, content: bytes, content_type: str = "application/pdf") -> Any:
    return await client.post("/api/v1/documents", files={"file": (name, content, content_type)})
