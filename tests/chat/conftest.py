"""Chat fixtures: apps shared by a module (with and without an LLM) and the fake OpenAI server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from loguru import logger

from server.settings import load_settings
from tests.conftest import Served, create_database, serve_app, settings_env
from tests.fakes import FakeOpenAI

LLM_TIMEOUT = "5"  # generous: the first call of a process builds the openai client's models


def llm_env(fake: FakeOpenAI, **overrides: str) -> dict[str, str]:
    """Settings pointing the LLM client at the fake server, with short timeouts and few retries."""
    return {"DOCMAN_LLM_BASE_URL": fake.base_url, "DOCMAN_LLM_MODEL": "fake-model", "DOCMAN_LLM_TIMEOUT": LLM_TIMEOUT,
            "DOCMAN_LLM_MAX_RETRIES": "2", "DOCMAN_LLM_CHECK_TIMEOUT": "1", **overrides}


@asynccontextmanager
async def app_with(pg_admin_url: str, tmp: Any, **env: str) -> AsyncIterator[Served]:
    settings = load_settings(settings_env(tmp / "data", **env))
    async for served in serve_app(settings, create_database(pg_admin_url, "chat")):
        await served.wait_ready()
        yield served


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=("fake-model",)) as srv:
        yield srv


@pytest.fixture
def llm(fake: FakeOpenAI) -> FakeOpenAI:
    """The module's fake server with no script and no recorded requests."""
    fake.reset()
    return fake


@pytest.fixture(scope="module")
async def llm_app(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI) -> AsyncIterator[Served]:
    """The app answering with the fake LLM; one database for the module."""
    async with app_with(pg_admin_url, tmp_path_factory.mktemp("chat-llm"), **llm_env(fake)) as served:
        yield served


@pytest.fixture(scope="module")
async def extractive_app(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """The embedded default: no LLM configured, extractive answers."""
    async with app_with(pg_admin_url, tmp_path_factory.mktemp("chat-extractive")) as served:
        yield served


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[str]]]:
    """Log messages (WARNING and up) emitted during the test."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(m.record["message"]), level="WARNING")
    yield lambda: list(lines)
    logger.remove(sink)
