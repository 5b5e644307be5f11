"""Esc during a streamed LLM answer closes the HTTP stream, and the server abandons the LLM's stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from server.app import create_app
from server.settings import load_settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, create_database, settings_env
from tests.fakes import FakeOpenAI, ok
from tests.tui.helpers import connector, text_of, until
from tests.tui.live import LiveServer
from tui.chat.app import ChatApp
from tui.chat.widgets.messages import AssistantMessage
from tui.client import DocmanClient

NOTE = "The Vega compressor weighs 320 kilograms. It is painted green and runs on three-phase power."


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=("fake-model",)) as srv:
        yield srv


@pytest.fixture(scope="module")
def llm_server(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeOpenAI
) -> Iterator[LiveServer]:
    env = settings_env(
        tmp_path_factory.mktemp("tui-llm") / "data",
        DOCMAN_RATE_LIMIT_ENABLED="false",
        DOCMAN_LLM_BASE_URL=fake_llm.base_url,
        DOCMAN_LLM_MODEL="fake-model",
        DOCMAN_LLM_TIMEOUT="20",
        DOCMAN_LLM_MAX_RETRIES="0",
        DOCMAN_LLM_CHECK_TIMEOUT="1",
    )
    server = LiveServer(create_app(load_settings(env), conninfo=create_database(pg_admin_url, "tuillm")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def llm_admin(llm_server: LiveServer) -> AsyncIterator[DocmanClient]:
    client = DocmanClient(llm_server.url)
    await client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    yield client
    await client.aclose()


async def test_escape_stops_the_answer_and_the_llm_stream(
    llm_admin: DocmanClient, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    note = tmp_path / "vega.txt"
    note.write_text(NOTE)
    doc = await llm_admin.upload(note)
    while doc.status not in ("ready", "failed"):
        await asyncio.sleep(0.1)
        doc = await llm_admin.document(doc.id)
    assert doc.status == "ready", doc
    fake_llm.reset()
    slow = ok(" ".join(["The compressor weighs 320 kilograms [1]."] * 20), chunk_delay=0.15)
    fake_llm.script(slow, slow, slow)

    app = ChatApp(llm_admin, connect=connector(None))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.user is not None, 20, "signed in")
        app.chat_screen.query_one("#prompt", Input).value = "How heavy is the Vega compressor?"
        await pilot.press("enter")
        chat = app.chat_screen
        await until(
            pilot,
            lambda: chat.query(AssistantMessage) and "kilograms" in chat.query(AssistantMessage).last().markdown.source,
            30,
            "the first tokens",
        )
        assert chat.generating
        await pilot.press("escape")
        await until(pilot, lambda: not chat.generating, 10, "the answer stopped")
        answer = chat.query(AssistantMessage).last()
        assert "stopped" in text_of(answer.query_one(".meta"))
        await until(pilot, lambda: fake_llm.cancelled_streams >= 1, 15, "the server cancelling the LLM stream")
