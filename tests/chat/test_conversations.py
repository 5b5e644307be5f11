"""Conversation CRUD, restricted to the owner: another user's conversation is a 404, never a 403."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.chat.helpers import BATTERY_TEXT, ask, new_conversation, upload_text
from tests.conftest import Served

_emails = itertools.count(1)


async def test_create_list_get_rename_delete(extractive_app: Served) -> None:
    client = extractive_app.client
    ids = [await new_conversation(client, title=f"Conversation {i}") for i in range(3)]

    page = (await client.get("/api/v1/chat/conversations", params={"limit": 2})).json()
    assert page["total"] >= 3 and [c["id"] for c in page["items"]] == ids[::-1][:2]  # newest first
    rest = (await client.get("/api/v1/chat/conversations", params={"limit": 2, "offset": 2})).json()
    assert rest["items"][0]["id"] == ids[0]

    detail = (await client.get(f"/api/v1/chat/conversations/{ids[1]}")).json()
    assert detail["title"] == "Conversation 1" and detail["messages"] == [] and detail["document_ids"] is None

    r = await client.patch(f"/api/v1/chat/conversations/{ids[1]}", json={"title": "Renamed"})
    assert r.status_code == 200 and r.json()["title"] == "Renamed"
    first = (await client.get("/api/v1/chat/conversations", params={"limit": 1})).json()["items"][0]
    assert first["id"] == ids[1]  # the most recently active comes first

    assert (await client.delete(f"/api/v1/chat/conversations/{ids[1]}")).status_code == 204
    r = await client.get(f"/api/v1/chat/conversations/{ids[1]}")
    assert r.status_code == 404 and r.json()["code"] == "conversation_not_found"
    assert (await client.delete(f"/api/v1/chat/conversations/{ids[1]}")).status_code == 404


async def test_untitled_conversation_is_named_after_its_first_question(extractive_app: Served) -> None:
    client = extractive_app.client
    doc_id = await upload_text(client, "foo3.txt", BATTERY_TEXT)
    conv = await new_conversation(client, document_ids=[doc_id])
    await ask(client, conv, "How long does the Foo-3 battery take to charge?")
    body = (await client.get(f"/api/v1/chat/conversations/{conv}")).json()
    assert body["title"] == "How long does the Foo-3 battery take to charge?"
    assert body["document_ids"] == [doc_id] and body["message_count"] == 2


async def test_document_ids_are_checked(extractive_app: Served) -> None:
    client = extractive_app.client
    r = await client.post("/api/v1/chat/conversations", json={"document_ids": ["not-a-uuid"]})
    assert r.status_code == 400 and r.json()["code"] == "invalid_document_id"
    r = await client.post("/api/v1/chat/conversations", json={"document_ids": [str(uuid.uuid4())]})
    assert r.status_code == 404 and r.json()["code"] == "document_not_found"
    r = await client.post("/api/v1/chat/conversations", json={"title": "x", "unknown": 1})
    assert r.status_code == 400


async def test_requires_a_signed_in_user(extractive_app: Served) -> None:
    r = await extractive_app.anon().get("/api/v1/chat/conversations")
    assert r.status_code == 401


# Every way to reach a conversation by id. Another user gets exactly what a missing id gets.
OPERATIONS: dict[str, Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]] = {
    "get": lambda c, cid: c.get(f"/api/v1/chat/conversations/{cid}"),
    "rename": lambda c, cid: c.patch(f"/api/v1/chat/conversations/{cid}", json={"title": "mine now"}),
    "delete": lambda c, cid: c.delete(f"/api/v1/chat/conversations/{cid}"),
    "ask": lambda c, cid: c.post(f"/api/v1/chat/conversations/{cid}/messages", json={"content": "hello?"}),
    "ask_once": lambda c, cid: c.post(f"/api/v1/chat/conversations/{cid}/messages",
                                      json={"content": "hello?", "stream": False}),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_another_users_conversation_is_not_found(extractive_app: Served, operation: str) -> None:
    owner = extractive_app.client
    conv = await new_conversation(owner, title="private")
    other = await extractive_app.make_user(f"chat-other-{next(_emails)}-{uuid.uuid4().hex[:6]}@example.com")

    theirs = await OPERATIONS[operation](other.client, conv)
    missing = await OPERATIONS[operation](other.client, str(uuid.uuid4()))
    assert theirs.status_code == missing.status_code == 404
    body: dict[str, Any] = theirs.json()
    assert body["code"] == missing.json()["code"] == "conversation_not_found"
    assert conv not in [c["id"] for c in (await other.client.get("/api/v1/chat/conversations")).json()["items"]]

    after = await owner.get(f"/api/v1/chat/conversations/{conv}")
    assert after.status_code == 200 and after.json()["title"] == "private" and after.json()["messages"] == []
