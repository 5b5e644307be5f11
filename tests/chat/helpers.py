"""Helpers for the chat tests: seeding documents, asking, reading Server-Sent Events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.models.chat import CHAT_EVENT_DECODER, ChatEvent, Done, Failed, Sources, Token
from tests.conftest import upload, wait_for_status
from tests.pdfs import make_pdf

# One distinct fact per page, so a citation can be checked against its page.
FACT_PAGES = [
    "The Orion pump operates at a pressure of 40 bar.",
    "The Vega compressor weighs 320 kilograms.",
    "The Lyra turbine spins at 12000 revolutions per minute.",
    "The Cygnus valve is made of brass.",
    "The Draco boiler holds 800 litres of water.",
]
LYRA_QUESTION = "How fast does the Lyra turbine spin?"

BATTERY_TEXT = (
    "Foo-3 battery datasheet.\n\n"
    "The Foo-3 battery has a capacity of 12 kWh. Its energy density is 250 Wh per kilogram. "
    "The Foo-3 battery charges fully in 90 minutes.\n\n"
    "The Bar-7 inverter converts direct current to alternating current at 98 percent efficiency."
)


async def upload_text(client: Any, name: str, text: str) -> str:
    r = await upload(client, name, text.encode(), "text/plain")
    assert r.status_code in (200, 202), r.text
    doc = await wait_for_status(client, r.json()["id"])
    assert doc["status"] == "ready", doc
    return str(doc["id"])


async def upload_facts_pdf(client: Any, tmp: Path) -> str:
    path = make_pdf(tmp / "facts.pdf", FACT_PAGES)
    r = await upload(client, "facts.pdf", path.read_bytes())
    assert r.status_code in (200, 202), r.text
    doc = await wait_for_status(client, r.json()["id"])
    assert doc["status"] == "ready", doc
    return str(doc["id"])


async def new_conversation(client: Any, **body: Any) -> str:
    r = await client.post("/api/v1/chat/conversations", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def parse_sse(text: str) -> list[ChatEvent]:
    """`event:`/`data:` blocks -> ChatEvents, checking each event name matches its type."""
    events: list[ChatEvent] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        name = next(line[len("event: "):] for line in lines if line.startswith("event: "))
        data = "\n".join(line[len("data: "):] for line in lines if line.startswith("data: "))
        event = CHAT_EVENT_DECODER.decode(data)
        assert type(event).__struct_config__.tag == name
        events.append(event)
    return events


async def ask(client: Any, conversation_id: str, content: str, **body: Any) -> list[ChatEvent]:
    """Ask with streaming; the stream must end (after done or failed)."""
    r = await client.post(f"/api/v1/chat/conversations/{conversation_id}/messages", json={"content": content, **body})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    assert isinstance(events[-1], (Done, Failed)), events
    return events


def answer_text(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, Token))


def sources_of(events: list[ChatEvent]) -> Sources:
    found = [e for e in events if isinstance(e, Sources)]
    assert len(found) == 1, events
    return found[0]


def squash(text: str) -> str:
    return " ".join(text.split())
