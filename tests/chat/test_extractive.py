"""Answers without an LLM (the embedded default): extractive, cited, page-precise."""

from __future__ import annotations

import re
from pathlib import Path

from server.chat.extractive import INTRO
from shared.models.chat import Done, Sources, Token
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

_LINE = re.compile(r"^- (?P<sentence>.+) \[(?P<n>\d+)\]$")


async def test_extractive_answer_cites_the_page_holding_the_sentence(extractive_app: Served, tmp_path: Path) -> None:
    client = extractive_app.client
    doc_id = await upload_facts_pdf(client, tmp_path)
    conv = await new_conversation(client, document_ids=[doc_id])

    events = await ask(client, conv, LYRA_QUESTION)
    assert isinstance(events[0], Sources) and isinstance(events[1], Token) and isinstance(events[-1], Done)
    done = events[-1]
    assert done.mode == "extractive" and done.message_id is not None and done.time_to_first_token_ms is not None
    text = answer_text(events)
    assert text.startswith(INTRO)
    quoted = [m.groupdict() for line in text.splitlines() if (m := _LINE.match(line))]
    assert quoted and quoted[0]["sentence"] == "The Lyra turbine spins at 12000 revolutions per minute."
    assert done.cited == [int(quoted[0]["n"])]

    citation = next(c for c in events[0].citations if c.n == int(quoted[0]["n"]))
    assert (citation.document_id, citation.page_start, citation.page_end) == (doc_id, 3, 3)
    page = await client.get(f"/api/v1/documents/{citation.document_id}/pages/{citation.page_start}")
    assert page.status_code == 200
    assert quoted[0]["sentence"] in squash(page.json()["text"])

    stored = (await client.get(f"/api/v1/chat/conversations/{conv}")).json()
    question, answer = stored["messages"]
    assert question["role"] == "user" and question["content"] == LYRA_QUESTION
    assert answer["mode"] == "extractive" and answer["content"] == text and answer["error_code"] is None
    assert [(c["n"], c["page_start"]) for c in answer["citations"]] == [(citation.n, 3)]  # only what is cited


async def test_extractive_says_when_the_documents_hold_no_answer(extractive_app: Served, tmp_path: Path) -> None:
    client = extractive_app.client
    doc_id = await upload_facts_pdf(client, tmp_path)
    conv = await new_conversation(client, document_ids=[doc_id])
    events = await ask(client, conv, "Who painted the ceiling of the Sistine Chapel?")
    assert "don't contain an answer" in answer_text(events)
    assert isinstance(events[-1], Done) and events[-1].cited == []


async def test_follow_up_is_rewritten_with_the_previous_question(extractive_app: Served) -> None:
    client = extractive_app.client
    doc_id = await upload_text(client, "foo3.txt", BATTERY_TEXT)
    conv = await new_conversation(client, document_ids=[doc_id])
    first = await ask(client, conv, "What is the capacity of the Foo-3 battery?")
    assert "12 kWh" in answer_text(first)

    second = await ask(client, conv, "what about its energy?")
    query = sources_of(second).query
    assert "foo-3" in query and "battery" in query and query.endswith("what about its energy?")
    assert "250 Wh per kilogram" in answer_text(second)
    messages = (await client.get(f"/api/v1/chat/conversations/{conv}")).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]


async def test_standalone_question_is_not_rewritten(extractive_app: Served) -> None:
    client = extractive_app.client
    doc_id = await upload_text(client, "foo3.txt", BATTERY_TEXT)
    conv = await new_conversation(client, document_ids=[doc_id])
    await ask(client, conv, "What is the capacity of the Foo-3 battery?")
    events = await ask(client, conv, "How efficient is the Bar-7 inverter at converting current?")
    assert sources_of(events).query == "How efficient is the Bar-7 inverter at converting current?"


async def test_non_streaming_extractive_answer(extractive_app: Served) -> None:
    client = extractive_app.client
    doc_id = await upload_text(client, "foo3.txt", BATTERY_TEXT)
    conv = await new_conversation(client, document_ids=[doc_id])
    r = await client.post(f"/api/v1/chat/conversations/{conv}/messages",
                          json={"content": "How long does the Foo-3 battery take to charge?", "stream": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "extractive" and body["message"]["role"] == "assistant"
    assert "charges fully in 90 minutes. [1]" in body["message"]["content"]
    assert body["message"]["citations"][0]["document_id"] == doc_id


async def test_health_reports_llm_not_configured_and_ok(extractive_app: Served) -> None:
    r = await extractive_app.client.get("/api/v1/health/dependencies")
    assert r.status_code == 200
    body = r.json()
    assert body["components"]["llm_service"] == "not_configured"
    assert body["status"] == "ok"
