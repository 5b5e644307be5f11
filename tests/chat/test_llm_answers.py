"""Answers with an LLM (the fake OpenAI server): streaming, retries, failures, follow-ups, citations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from shared.models.chat import Done, Failed, Sources, Token
from tests.chat.helpers import (
    BATTERY_TEXT,
    LYRA_QUESTION,
    answer_text,
    ask,
    new_conversation,
    sources_of,
    squash,
    upload_facts_pdf,
    upload_text,
)
from tests.conftest import Served
from tests.fakes import FakeOpenAI, context_too_long, hang, ok, rate_limit

CAPACITY_QUESTION = "What is the capacity of the Foo-3 battery?"
CAPACITY_ANSWER = "The Foo-3 battery has a capacity of 12 kWh [1]."


@dataclass
class Docs:
    battery: str
    facts: str


@pytest.fixture(scope="module")
async def docs(llm_app: Served, tmp_path_factory: pytest.TempPathFactory) -> Docs:
    client = llm_app.client
    return Docs(await upload_text(client, "foo3.txt", BATTERY_TEXT),
                await upload_facts_pdf(client, tmp_path_factory.mktemp("facts")))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_streamed_answer_sources_tokens_done(llm_app: Served, docs: Docs, llm: FakeOpenAI) -> None:
    client = llm_app.client
    conv = await new_conversation(client, document_ids=[docs.battery])
    llm.script(ok(CAPACITY_ANSWER))
    ok_before = sample("chat_requests_total", mode="llm", outcome="ok")
    ttft_before = sample("chat_time_to_first_token_seconds_count", mode="llm")
    events = await ask(client, conv, CAPACITY_QUESTION)
    assert sample("chat_requests_total", mode="llm", outcome="ok") == ok_before + 1
    assert sample("chat_time_to_first_token_seconds_count", mode="llm") == ttft_before + 1

    assert isinstance(events[0], Sources) and all(isinstance(e, Token) for e in events[1:-1])
    sources, done = events[0], events[-1]
    assert isinstance(done, Done) and len(events) > 3
    assert sources.query == CAPACITY_QUESTION and sources.citations[0].n == 1
    assert answer_text(events) == CAPACITY_ANSWER
    assert done.mode == "llm" and done.cited == [1] and done.time_to_first_token_ms is not None
    assert done.usage.prompt_tokens > 0 and done.usage.completion_tokens == len(CAPACITY_ANSWER.split())

    (request,) = llm.chat_requests()
    messages = request.body["messages"]
    assert messages[0]["role"] == "system" and "[n]" in messages[0]["content"]
    assert messages[-1]["role"] == "user" and CAPACITY_QUESTION in messages[-1]["content"]
    assert "\n[1] " in messages[-1]["content"] and "(page 1)" in messages[-1]["content"]
    assert "12 kWh" in messages[-1]["content"]

    stored = (await client.get(f"/api/v1/chat/conversations/{conv}")).json()["messages"][-1]
    assert stored["mode"] == "llm" and stored["content"] == CAPACITY_ANSWER and stored["error_code"] is None
    assert stored["usage"]["prompt_tokens"] == done.usage.prompt_tokens
    assert [c["n"] for c in stored["citations"]] == [1]


async def test_non_streaming_answer(llm_app: Served, docs: Docs, llm: FakeOpenAI) -> None:
    conv = await new_conversation(llm_app.client, document_ids=[docs.battery])
    llm.script(ok(CAPACITY_ANSWER))
    r = await llm_app.client.post(f"/api/v1/chat/conversations/{conv}/messages",
                                  json={"content": CAPACITY_QUESTION, "stream": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "llm" and body["query"] == CAPACITY_QUESTION
    assert body["message"]["content"] == CAPACITY_ANSWER and body["message"]["citations"][0]["n"] == 1
    assert body["message"]["usage"]["completion_tokens"] > 0


async def test_rate_limit_with_retry_after_then_success(llm_app: Served, docs: Docs, llm: FakeOpenAI) -> None:
    conv = await new_conversation(llm_app.client, document_ids=[docs.battery])
    llm.script(rate_limit(retry_after=1), ok(CAPACITY_ANSWER))
    events = await ask(llm_app.client, conv, CAPACITY_QUESTION)
    assert isinstance(events[-1], Done) and answer_text(events) == CAPACITY_ANSWER
    first, second = llm.chat_requests()
    assert (first.behaviour, second.behaviour) == ("rate_limit", "ok")
    assert second.time - first.time >= 0.95  # Retry-After was honoured


async def test_exhausted_retries_fail_with_llm_unavailable(llm_app: Served, docs: Docs, llm: FakeOpenAI,
                                                           log_lines: Callable[[], list[str]]) -> None:
    client = llm_app.client
    conv = await new_conversation(client, document_ids=[docs.battery])
    llm.script(*[rate_limit(retry_after=0)] * 3)  # DOCMAN_LLM_MAX_RETRIES=2: three attempts
    failed_before = sample("chat_requests_total", mode="llm", outcome="llm_unavailable")
    events = await ask(client, conv, CAPACITY_QUESTION)
    assert sample("chat_requests_total", mode="llm", outcome="llm_unavailable") == failed_before + 1
    assert isinstance(events[0], Sources)
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.code == "llm_unavailable" and failed.message_id is not None
    assert any("rate limit" in line and "exceeded" in line for line in log_lines())

    question, answer = (await client.get(f"/api/v1/chat/conversations/{conv}")).json()["messages"]
    assert question["role"] == "user" and question["content"] == CAPACITY_QUESTION
    assert question["query"] == CAPACITY_QUESTION
    assert answer["id"] == failed.message_id and answer["error_code"] == "llm_unavailable"

    llm.script(*[rate_limit(retry_after=0)] * 3)
    conv = await new_conversation(client, document_ids=[docs.battery])  # no history: no rewriting call
    r = await client.post(f"/api/v1/chat/conversations/{conv}/messages", json={"content": CAPACITY_QUESTION, "stream": False})
    assert r.status_code == 503 and r.json()["code"] == "llm_unavailable"


async def test_hung_llm_fails_with_llm_timeout(llm_app: Served, docs: Docs, llm: FakeOpenAI) -> None:
    conv = await new_conversation(llm_app.client, document_ids=[docs.battery])
    llm.script(hang(20))  # DOCMAN_LLM_TIMEOUT is 5 s
    events = await ask(llm_app.client, conv, CAPACITY_QUESTION)
    assert isinstance(events[-1], Failed) and events[-1].code == "llm_timeout"

    conv = await new_conversation(llm_app.client, document_ids=[docs.battery])
    llm.script(hang(20))
    r = await llm_app.client.post(f"/api/v1/chat/conversations/{conv}/messages",
                                  json={"content": CAPACITY_QUESTION, "stream": False})
    assert r.status_code == 504 and r.json()["code"] == "llm_timeout"


async def test_provider_context_error_is_reported(llm_app: Served, docs: Docs, llm: FakeOpenAI) -> None:
    conv = await new_conversation(llm_app.client, document_ids=[docs.battery])
    llm.script(context_too_long())
    r = await llm_app.client.post(f"/api/v1/chat/conversations/{conv}/messages",
                                  json={"content": CAPACITY_QUESTION, "stream": False})
    assert r.status_code == 422 and r.json()["code"] == "context_too_long"


async def test_follow_up_is_rewritten_by_the_llm(llm_app: Served, docs: Docs, llm: FakeOpenAI) -> None:
    client = llm_app.client
    conv = await new_conversation(client, document_ids=[docs.battery])
    llm.script(ok(CAPACITY_ANSWER))
    await ask(client, conv, CAPACITY_QUESTION)

    standalone = "What is the energy density of the Foo-3 battery?"
    llm.script(ok(standalone), ok("It stores 250 Wh per kilogram [1]."))
    events = await ask(client, conv, "what about its energy?")
    assert sources_of(events).query == standalone
    assert "250 Wh per kilogram" in sources_of(events).citations[0].text
    rewrite_request, answer_request = llm.chat_requests()[-2:]
    assert rewrite_request.body["max_tokens"] <= 64
    assert CAPACITY_QUESTION in rewrite_request.body["messages"][-1]["content"]
    history = [m["content"] for m in answer_request.body["messages"][1:-1]]
    assert history == [CAPACITY_QUESTION, "The Foo-3 battery has a capacity of 12 kWh."]  # [n] markers dropped


async def test_follow_up_falls_back_to_the_heuristic(llm_app: Served, docs: Docs, llm: FakeOpenAI) -> None:
    client = llm_app.client
    conv = await new_conversation(client, document_ids=[docs.battery])
    llm.script(ok(CAPACITY_ANSWER))
    await ask(client, conv, CAPACITY_QUESTION)
    llm.script(hang(20), ok("It stores 250 Wh per kilogram [1]."))  # the rewrite call times out
    events = await ask(client, conv, "what about its energy?")
    assert sources_of(events).query == "capacity foo-3 battery what about its energy?"
    assert isinstance(events[-1], Done)


async def test_llm_citation_points_at_the_page_with_the_fact(llm_app: Served, docs: Docs, llm: FakeOpenAI) -> None:
    client = llm_app.client
    conv = await new_conversation(client, document_ids=[docs.facts])
    llm.script(ok("The Lyra turbine spins at 12000 revolutions per minute [1]."))
    events = await ask(client, conv, LYRA_QUESTION)
    done = events[-1]
    assert isinstance(done, Done) and done.cited == [1]
    citation = sources_of(events).citations[0]
    assert (citation.document_id, citation.page_start, citation.page_end) == (docs.facts, 3, 3)
    page = (await client.get(f"/api/v1/documents/{docs.facts}/pages/3")).json()["text"]
    assert "The Lyra turbine spins at 12000 revolutions per minute." in squash(page)
    assert "Lyra" in citation.text and "Orion" not in citation.text


async def test_health_reports_the_llm_ok(llm_app: Served, llm: FakeOpenAI) -> None:
    r = await llm_app.client.get("/api/v1/health/dependencies")
    assert r.status_code == 200
    assert r.json()["components"]["llm_service"] == "ok"
