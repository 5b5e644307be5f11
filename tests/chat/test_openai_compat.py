"""The OpenAI-compatible endpoint with the real `openai` client over real HTTP (uvicorn in a thread)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from server.settings import load_settings
from tests.auth.live import live_server
from tests.chat.conftest import llm_env
from tests.chat.helpers import BATTERY_TEXT, upload_text
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, create_database, settings_env
from tests.fakes import FakeOpenAI, ok, rate_limit

ANSWER = "The Foo-3 battery has a capacity of 12 kWh [1]."
QUESTION = "What is the capacity of the Foo-3 battery?"


@dataclass
class Live:
    base: str
    token: str
    llm: FakeOpenAI

    def client(self) -> AsyncOpenAI:
        return AsyncOpenAI(base_url=f"{self.base}/v1", api_key=self.token, max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=("fake-model",)) as srv:
        yield srv


@pytest.fixture(scope="module")
async def live(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory, upstream: FakeOpenAI) -> AsyncIterator[Live]:
    settings = load_settings(settings_env(tmp_path_factory.mktemp("openai") / "data", **llm_env(upstream, DOCMAN_LLM_TIMEOUT="20")))
    with live_server(settings, create_database(pg_admin_url, "openai")) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            r = await client.post("/api/v1/auth/token", json={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            token = r.json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            await upload_text(client, "foo3.txt", BATTERY_TEXT)
        yield Live(base, token, upstream)


async def test_non_streaming_completion(live: Live) -> None:
    live.llm.reset()
    live.llm.script(ok(ANSWER))
    async with live.client() as client:
        response = await client.chat.completions.create(
            model="docman-rag", messages=[{"role": "system", "content": "be nice"}, {"role": "user", "content": QUESTION}])
    assert response.object == "chat.completion" and response.model == "docman-rag"
    assert response.choices[0].message.content == ANSWER and response.choices[0].finish_reason == "stop"
    assert response.usage is not None and response.usage.completion_tokens == len(ANSWER.split())
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    citations = (response.model_extra or {})["citations"]
    assert [c["n"] for c in citations] == [1] and "12 kWh" in citations[0]["text"]
    sent = live.llm.chat_requests()[0].body["messages"]
    assert "be nice" not in str(sent)  # the client's system prompt does not replace ours


async def test_streaming_completion(live: Live) -> None:
    live.llm.reset()
    live.llm.script(ok(ANSWER))
    async with live.client() as client:
        stream = await client.chat.completions.create(
            model="my-name", messages=[{"role": "user", "content": QUESTION}], stream=True,
            stream_options={"include_usage": True})
        chunks = [chunk async for chunk in stream]
    assert all(c.object == "chat.completion.chunk" and c.model == "my-name" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ANSWER
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    assert [c["n"] for c in (final.model_extra or {})["citations"]] == [1]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_history_and_follow_up(live: Live) -> None:
    live.llm.reset()
    live.llm.script(ok("What is the energy density of the Foo-3 battery?"), ok("250 Wh per kilogram [1]."))
    async with live.client() as client:
        response = await client.chat.completions.create(model="docman-rag", messages=[
            {"role": "user", "content": QUESTION}, {"role": "assistant", "content": ANSWER},
            {"role": "user", "content": "and its energy?"}])
    assert response.choices[0].message.content == "250 Wh per kilogram [1]."
    rewrite, answer = live.llm.chat_requests()
    assert QUESTION in rewrite.body["messages"][-1]["content"]
    assert [m["content"] for m in answer.body["messages"][1:-1]] == [QUESTION, "The Foo-3 battery has a capacity of 12 kWh."]


async def test_models_and_errors(live: Live) -> None:
    live.llm.reset()
    async with live.client() as client:
        models = await client.models.list()
        assert [m.id for m in models.data] == ["docman-rag"]
        with pytest.raises(openai.BadRequestError) as bad:
            await client.chat.completions.create(model="docman-rag", messages=[{"role": "system", "content": "hi"}])
        assert bad.value.code == "no_user_message"
        live.llm.script(*[rate_limit(retry_after=0)] * 3)
        with pytest.raises(openai.InternalServerError) as unavailable:
            await client.chat.completions.create(model="docman-rag", messages=[{"role": "user", "content": QUESTION}])
        assert unavailable.value.status_code == 503 and unavailable.value.code == "llm_unavailable"
        live.llm.script(*[rate_limit(retry_after=0)] * 3)
        stream = await client.chat.completions.create(model="docman-rag", stream=True,
                                                      messages=[{"role": "user", "content": QUESTION}])
        with pytest.raises(openai.APIError, match="rate limit exceeded"):
            async for _ in stream:
                pass
    async with AsyncOpenAI(base_url=f"{live.base}/v1", api_key="not-a-token", max_retries=0) as anonymous:
        with pytest.raises(openai.AuthenticationError):
            await anonymous.models.list()
