"""`chat-ttft`: time to the first answer token through our chat API against the LLM's own.

The LLM is the fake OpenAI server (tests.fakes) answering every chat request after a fixed
first-token delay. The LLM's own time to first token is measured by streaming from it directly
with the same client (httpx) as the API's: POST /chat/conversations, then POST .../messages and
the time until the first `token` event. Direct and API asks alternate; each ask is the first
question of a new conversation (no follow-up rewriting) over a small seeded corpus, so the
overhead measured is retrieval, prompt packing, storage and streaming. Target: <= 50 ms.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from ops.bench import corpus, seed
from ops.bench.context import Context
from ops.bench.report import Check, Report, median, say
from ops.bench.services import app_env, running, sign_in
from server.rag.embed import make_embedder
from server.settings import load_settings
from shared import routes

TARGET_MS = 50.0
FIRST_TOKEN_DELAY = 0.3


def run(ctx: Context) -> Report:
    report = Report("chat-ttft")
    if not hasattr(routes, "CHAT_MESSAGES"):
        report.skip("no chat endpoint (shared.routes.CHAT_MESSAGES) in this tree")
        return report
    from tests.fakes import FakeOpenAI, ok

    asks = 3 if ctx.args.quick else 20
    conninfo = ctx.pg().database("chat")
    text = corpus.load()
    with FakeOpenAI(models=("fake-model",)) as llm:
        # Scripted behaviours are consumed by every request (model checks too): queue plenty.
        llm.script(*[ok(first_token_delay=FIRST_TOKEN_DELAY) for _ in range(4 * asks + 50)])
        env = app_env(ctx.workdir / "chat-data", conninfo, DOCMAN_RATE_LIMIT_ENABLED="false",
                      DOCMAN_LLM_BASE_URL=llm.base_url, DOCMAN_LLM_MODEL="fake-model", DOCMAN_LLM_API_KEY="bench")
        settings = load_settings(env)
        owner = asyncio.run(seed.prepare(conninfo))
        seeded = seed.seed(conninfo, owner, text, make_embedder(settings.embedding),
                           documents=20, chunks_per_document=20, anchors=50)
        report.figure("setup", f"fake LLM first-token delay {FIRST_TOKEN_DELAY * 1000:.0f} ms, {asks} asks, "
                               f"corpus of {seeded.chunks} chunks")
        with running("ours", ctx.workdir / "logs" / "chat-ours.log", env=env) as app:
            headers = sign_in(app.url)
            direct, api, server_ttft, search = asyncio.run(_measure(app.url, headers, llm.base_url, text.queries, asks))
    direct_ms, api_ms = median(direct) * 1000, median(api) * 1000
    report.figure("llm_ttft_p50_ms", direct_ms, "ms", "LLM's own time to first token (direct, p50)")
    report.figure("api_ttft_p50_ms", api_ms, "ms", "time to first token through the chat API (p50)")
    if server_ttft:
        report.figure("server_ttft_p50_ms", median(server_ttft), "ms", "the server's own time_to_first_token_ms (p50)")
    report.figure("search_p50_ms", median(search) * 1000, "ms", "POST /search of the same questions (p50), for scale")
    report.check(Check("chat time to first token, API vs LLM", api_ms, direct_ms, "ms", "<=", TARGET_MS, kind="difference"))
    return report


async def _measure(base_url: str, headers: dict[str, str], llm_url: str, questions: list[str],
                   asks: int) -> tuple[list[float], list[float], list[float], list[float]]:
    direct, api, server_ttft, search = [], [], [], []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client, \
            httpx.AsyncClient(timeout=60) as llm_client:
        for i in range(asks + 1):  # the first pair warms up and is not counted
            question = _question(questions, i)
            d = await _direct_ttft(llm_client, llm_url, question)
            a, s = await _api_ttft(client, question)
            if i:
                direct.append(d)
                api.append(a)
                if s is not None:
                    server_ttft.append(s)
            say(f"  ask {i}{' (warm-up)' if not i else ''}: direct {d * 1000:.0f} ms, API {a * 1000:.0f} ms")
        for i in range(1, asks + 1):
            started = time.perf_counter()
            r = await client.post(routes.SEARCH, json={"query": _question(questions, i), "top_k": 6})
            r.raise_for_status()
            search.append(time.perf_counter() - started)
    return direct, api, server_ttft, search


def _question(questions: list[str], i: int) -> str:
    return questions[i % len(questions)] if questions else f"What does study {i} report?"


async def _direct_ttft(client: httpx.AsyncClient, llm_url: str, question: str) -> float:
    body = {"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": question}]}
    started = time.perf_counter()
    first = None
    async with client.stream("POST", f"{llm_url}/chat/completions", json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if first is None and line.startswith("data: {"):
                choices = json.loads(line[6:]).get("choices") or [{}]
                if choices[0].get("delta", {}).get("content"):
                    first = time.perf_counter() - started
    if first is None:
        raise RuntimeError("the fake LLM streamed no content")
    return first


async def _api_ttft(client: httpx.AsyncClient, question: str) -> tuple[float, float | None]:
    """(seconds to the first `token` event, the server's own time_to_first_token_ms from `done`)."""
    r = await client.post(routes.CHAT_CONVERSATIONS, json={"title": "bench"})
    r.raise_for_status()
    path = routes.CHAT_MESSAGES.replace("{conversation_id:uuid}", r.json()["id"])
    started = time.perf_counter()
    first, server, event = None, None, ""
    async with client.stream("POST", path, json={"content": question, "stream": True}) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                kind = data.get("type", event)
                if kind == "sources" and not data.get("citations"):
                    raise RuntimeError("the search found no sources, so the LLM was not asked")
                if kind == "token" and first is None:
                    first = time.perf_counter() - started
                elif kind == "done":
                    server = data.get("time_to_first_token_ms")
                elif kind == "failed":
                    raise RuntimeError(f"the chat API failed: {data}")
    if first is None:
        raise RuntimeError("the chat API streamed no token")
    return first, server
