"""The real server over real HTTP for the terminal apps: uvicorn in a thread, one app for the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.app import create_app
from server.settings import load_settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, create_database, settings_env
from tests.tui.live import LiveServer
from tui.client import DocmanClient
from tui.credentials import CredentialStore


@pytest.fixture(scope="session")
def live_server(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app (embedded workers, no LLM: extractive answers) on 127.0.0.1:<free port>."""
    data = tmp_path_factory.mktemp("tui-server") / "data"
    settings = load_settings(settings_env(data, DOCMAN_RATE_LIMIT_ENABLED="false"))
    server = LiveServer(create_app(settings, conninfo=create_database(pg_admin_url, "tui")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store(tmp_path: Path) -> CredentialStore:
    return CredentialStore(tmp_path / "config" / "docman" / "credentials.json")


@pytest.fixture
async def admin(live_server: LiveServer, store: CredentialStore) -> AsyncIterator[DocmanClient]:
    """A client signed in as the first admin, its session saved in `store`."""
    client = DocmanClient(live_server.url, store=store)
    await client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    yield client
    await client.aclose()
