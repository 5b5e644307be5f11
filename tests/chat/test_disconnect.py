"""A client that goes away mid-answer stops the LLM generating, through a real HTTP server (the
in-process clients do not propagate disconnects the way a closed socket does)."""

from __future__ import annotations

from pathlib import Path

import httpx

from server.settings import load_settings
from tests.auth.live import live_server
from tests.chat.conftest import llm_env
from tests.chat.helpers import BATTERY_TEXT, new_conversation, upload_text
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, create_database, settings_env, wait_until
from tests.fakes import FakeOpenAI, ok

LONG_ANSWER = " ".join(f"word{i}" for i in range(300)) + " [1]"


async def test_disconnect_mid_stream_cancels_the_llm_stream(pg_admin_url: str, tmp_path: Path, llm: FakeOpenAI) -> None:
    settings = load_settings(settings_env(tmp_path / "data", **llm_env(llm, DOCMAN_LLM_TIMEOUT="20")))
    with live_server(settings, create_database(pg_admin_url, "chatlive")) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            r = await client.post("/api/v1/auth/token", json={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            doc_id = await upload_text(client, "foo3.txt", BATTERY_TEXT)
            conv = await new_conversation(client, document_ids=[doc_id])
            llm.script(ok(LONG_ANSWER, chunk_delay=0.1))

            seen = ""
            async with client.stream("POST", f"/api/v1/chat/conversations/{conv}/messages",
                                     json={"content": "What is the capacity of the Foo-3 battery?"}) as response:
                assert response.status_code == 200
                async for text in response.aiter_text():
                    seen += text
                    if seen.count("event: token") >= 3:
                        break  # leaving the block closes the connection mid-answer
            assert "event: sources" in seen and "event: done" not in seen

            await wait_until(lambda: llm.cancelled_streams == 1, timeout=5)  # promptly, not at an idle timeout
            (request,) = llm.chat_requests()
            assert request.cancelled and request.chunks_sent < 300

            async def stored_as_cancelled() -> bool:
                messages = (await client.get(f"/api/v1/chat/conversations/{conv}")).json()["messages"]
                return len(messages) == 2 and messages[1]["error_code"] == "cancelled"

            await wait_until(stored_as_cancelled, timeout=10)
            answer = (await client.get(f"/api/v1/chat/conversations/{conv}")).json()["messages"][1]
            assert answer["content"].startswith("word0 word1 word2")  # what had been generated is kept
