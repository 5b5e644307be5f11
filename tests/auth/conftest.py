"""Fixtures for the auth tests: a real uvicorn server per module, signed-in tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from server.settings import load_settings
from tests.auth.live import http, live_server
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Served, create_database, serve_app, settings_env


@dataclass
class Live:
    base: str
    admin_token: str

    def login(self, email: str, password: str) -> dict[str, str]:
        status, body = http("POST", f"{self.base}/api/v1/auth/token", {"username": email, "password": password})
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def create_user(self, email: str, password: str, role: str = "user") -> str:
        status, body = http("POST", f"{self.base}/api/v1/users",
                            {"email": email, "password": password, "role": role}, self.admin_token)
        assert status == 201, body
        return str(body["user"]["id"])


@pytest.fixture(scope="module")
def live(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app on a real HTTP port with a fresh database; the admin signed in."""
    data_dir = tmp_path_factory.mktemp("live") / "data"
    settings = load_settings(settings_env(data_dir))
    with live_server(settings, create_database(pg_admin_url, "live")) as base:
        status, body = http("POST", f"{base}/api/v1/auth/token", {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert status == 200, body
        yield Live(base=base, admin_token=body["access_token"])


@pytest.fixture(scope="module")
async def app_once(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """One app for a whole module whose tests do not disturb each other (sign-ins unthrottled)."""
    data_dir = tmp_path_factory.mktemp("app") / "data"
    settings = load_settings(settings_env(data_dir, DOCMAN_RATE_LIMIT_LOGIN="100000"))
    async for served in serve_app(settings, create_database(pg_admin_url, "auth")):
        await served.wait_ready()
        yield served
