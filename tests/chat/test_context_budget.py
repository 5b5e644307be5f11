"""The prompt always fits the model's window (guide 3.4 "Token Limit Exceeded"): many long sources
and a small DOCMAN_LLM_CONTEXT_WINDOW never produce a request the provider rejects as too long."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.rag.tokens import estimate_messages_tokens
from shared.models.chat import Done, Failed
from tests.chat.conftest import app_with, llm_env
from tests.chat.helpers import ask, new_conversation, sources_of, upload_text
from tests.conftest import Served
from tests.fakes import FakeOpenAI, approx_tokens, ok

WINDOW = 1000
MAX_TOKENS = 150


def long_document(i: int) -> str:
    sentences = [f"Solar panel model S{i}-{j} converts sunlight into electricity with an efficiency of "
                 f"{15 + (i * j) % 9} percent under standard test conditions, according to laboratory report "
                 f"number {100 * i + j}." for j in range(30)]
    return f"Solar panel report {i}.\n\n" + " ".join(sentences)


@pytest.fixture(scope="module")
def small_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=("fake-model",), max_context_tokens=WINDOW) as srv:
        yield srv


@pytest.fixture(scope="module")
async def small_app(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory,
                    small_llm: FakeOpenAI) -> AsyncIterator[Served]:
    env = llm_env(small_llm, DOCMAN_LLM_CONTEXT_WINDOW=str(WINDOW), DOCMAN_LLM_MAX_TOKENS=str(MAX_TOKENS))
    async with app_with(pg_admin_url, tmp_path_factory.mktemp("chat-small"), **env) as served:
        for i in range(4):
            await upload_text(served.client, f"solar-{i}.txt", long_document(i))
        yield served


async def test_many_long_sources_fit_the_window(small_app: Served, small_llm: FakeOpenAI, tmp_path: Path) -> None:
    small_llm.reset()
    small_llm.script(ok("Efficiencies range from 15 to 23 percent [1][2]."))
    conv = await new_conversation(small_app.client)
    events = await ask(small_app.client, conv, "What efficiency do the solar panel models reach?", top_k=20)
    assert isinstance(events[-1], Done), events[-1]

    (request,) = small_llm.chat_requests()
    assert request.behaviour == "ok"  # the fake server did not answer context_length_exceeded
    messages = request.body["messages"]
    sent = sum(approx_tokens(m["content"]) for m in messages)
    assert sent + request.body["max_tokens"] <= WINDOW
    assert estimate_messages_tokens(messages) + MAX_TOKENS <= WINDOW

    citations = sources_of(events).citations
    assert [c.n for c in citations] == list(range(1, len(citations) + 1))  # numbered in order, no gaps
    assert 1 <= len(citations) < 20  # most of the twenty chunks could not fit
    prompt = messages[-1]["content"]
    assert all(f"[{c.n}] " in prompt for c in citations) and f"[{len(citations) + 1}] " not in prompt


async def test_question_too_long_for_the_window_fails_without_calling_the_llm(small_app: Served,
                                                                              small_llm: FakeOpenAI) -> None:
    small_llm.reset()
    conv = await new_conversation(small_app.client)
    question = "Which solar panel model is the most efficient one? " * 120
    events = await ask(small_app.client, conv, question[:6000])
    assert isinstance(events[-1], Failed) and events[-1].code == "context_too_long"
    assert small_llm.chat_requests() == []
    conv = await new_conversation(small_app.client)
    r = await small_app.client.post(f"/api/v1/chat/conversations/{conv}/messages",
                                    json={"content": question[:6000], "stream": False})
    assert r.status_code == 422 and r.json()["code"] == "context_too_long"
