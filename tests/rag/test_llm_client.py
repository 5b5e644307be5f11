"""LLMClient against the fake OpenAI server, over real HTTP with the real openai client."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from loguru import logger
from openai import AsyncOpenAI
from prometheus_client import REGISTRY

from server.rag.llm import LLMClient, LLMError, Usage, retry_after_seconds
from server.rag.tokens import estimate_messages_tokens, estimate_tokens
from server.settings import LLMSettings
from tests.fakes.openai_server import (
    FakeOpenAI,
    approx_tokens,
    auth_error,
    context_too_long,
    hang,
    ok,
    rate_limit,
    server_error,
)

QUESTION = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is in the report?"}]


class FastSleep:
    """An injected `sleep` that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def settings(base_url: str | None, **overrides: Any) -> LLMSettings:
    values: dict[str, Any] = dict(
        base_url=base_url, api_key="test-key", model="fake-model", timeout=2.0, max_tokens=64,
        temperature=0.0, max_retries=3, context_window=8192, check_timeout=0.5,
    )
    return LLMSettings(**{**values, **overrides})


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=("fake-model", "other-model")) as srv:
        yield srv


@pytest.fixture
def srv(fake_server: FakeOpenAI) -> FakeOpenAI:
    fake_server.reset()
    fake_server.max_context_tokens = None
    fake_server.api_key = None
    fake_server.send_usage = True
    return fake_server


@pytest.fixture
async def make_llm(srv: FakeOpenAI) -> AsyncIterator[Callable[..., LLMClient]]:
    clients: list[LLMClient] = []

    def make(*, base_url: str | None = srv.base_url, sleep: Any = None, rng: Any = None, clock: Any = None, **cfg: Any) -> LLMClient:
        kwargs = {k: v for k, v in {"sleep": sleep, "rng": rng, "clock": clock}.items() if v is not None}
        client = LLMClient(settings(base_url, **cfg), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def llm_logs() -> Iterator[list[dict[str, Any]]]:
    records: list[dict[str, Any]] = []
    sink = logger.add(lambda m: records.append(m.record), level="WARNING", filter=lambda r: r["extra"].get("service") == "llm_service")
    yield records
    logger.remove(sink)


# ---------------------------------------------------------------- happy paths


async def test_stream_yields_deltas_and_usage(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(ok("The report covers revenue and costs."))
    ttft_before = sample("llm_time_to_first_token_seconds_count")
    completion_before = sample("llm_tokens_total", kind="completion")
    gen = make_llm().stream(QUESTION)
    pieces = [piece async for piece in gen]
    assert pieces == ["The", " report", " covers", " revenue", " and", " costs."]
    assert gen.text == "The report covers revenue and costs."
    prompt = sum(approx_tokens(m["content"]) for m in QUESTION)
    assert gen.usage == Usage(prompt_tokens=prompt, completion_tokens=6)
    (req,) = srv.chat_requests()
    assert req.body["stream"] is True and req.body["stream_options"] == {"include_usage": True}
    assert req.body["model"] == "fake-model" and req.body["max_tokens"] == 64 and req.body["messages"] == QUESTION
    assert req.headers["authorization"] == "Bearer test-key"
    assert sample("llm_time_to_first_token_seconds_count") == ttft_before + 1
    assert sample("llm_tokens_total", kind="completion") == completion_before + 6


async def test_stream_without_reported_usage_is_estimated(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.send_usage = False
    gen = make_llm().stream(QUESTION, max_tokens=10)
    text = "".join([piece async for piece in gen])
    assert text == "You said: What is in the report?"
    assert gen.usage == Usage(estimate_messages_tokens(QUESTION), estimate_tokens(text), estimated=True)
    assert srv.chat_requests()[0].body["max_tokens"] == 10


async def test_complete_returns_text_and_usage(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(ok("Revenue grew."))
    text, usage = await make_llm().complete(QUESTION)
    assert text == "Revenue grew."
    assert usage.completion_tokens == 2 and not usage.estimated
    assert "stream" not in srv.chat_requests()[0].body


async def test_not_configured_client_refuses(make_llm: Callable[..., LLMClient]) -> None:
    llm = make_llm(base_url=None)
    with pytest.raises(LLMError) as err:
        await llm.complete(QUESTION)
    assert err.value.code == "llm_unavailable" and not err.value.retryable


# ---------------------------------------------------------------- retries


async def test_rate_limit_waits_for_retry_after(srv: FakeOpenAI, make_llm: Callable[..., LLMClient], llm_logs: list[dict[str, Any]]) -> None:
    srv.script(rate_limit(retry_after=1), ok("Second time lucky"))
    retries_before = sample("llm_retries_total")
    gen = make_llm(rng=lambda: 0.0).stream(QUESTION)  # real sleep: the wait is the point
    assert "".join([p async for p in gen]) == "Second time lucky"
    first, second = srv.chat_requests()
    assert second.time - first.time >= 0.95
    assert (first.behaviour, first.chunks_sent) == ("rate_limit", 0)
    assert (second.behaviour, second.chunks_sent) == ("ok", 3)
    assert second.headers["x-stainless-retry-count"] == "0"  # the openai client's own retries are off
    assert sample("llm_retries_total") == retries_before + 1
    assert [r["level"].name for r in llm_logs] == ["WARNING"] and "rate limit" in llm_logs[0]["message"]


async def test_server_errors_retried_with_jittered_backoff(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(server_error(500), server_error(502), ok("Recovered"))
    sleep = FastSleep()
    errors_before = sample("llm_errors_total", kind="server_error")
    text, _ = await make_llm(sleep=sleep, rng=lambda: 0.5).complete(QUESTION)
    assert text == "Recovered"
    assert [r.behaviour for r in srv.chat_requests()] == ["server_error", "server_error", "ok"]
    assert sleep.delays == [0.25, 0.5]  # rng * min(20, 0.5 * 2**n)
    assert sample("llm_errors_total", kind="server_error") == errors_before + 2


async def test_rate_limit_exhausted_logs_for_operators(srv: FakeOpenAI, make_llm: Callable[..., LLMClient], llm_logs: list[dict[str, Any]]) -> None:
    srv.script(*[rate_limit(retry_after=1)] * 3)
    sleep = FastSleep()
    with pytest.raises(LLMError) as err:
        await make_llm(sleep=sleep, rng=lambda: 0.1, max_retries=2).complete(QUESTION)
    assert err.value.code == "llm_unavailable" and err.value.retryable
    assert len(srv.chat_requests()) == 3
    assert sleep.delays == [1.0, 1.0]  # Retry-After beats the smaller jittered backoff
    errors = [r for r in llm_logs if r["level"].name == "ERROR"]
    assert len(errors) == 1 and errors[0]["extra"]["service"] == "llm_service"
    assert "rate limit" in errors[0]["message"] and "exceeded" in errors[0]["message"]
    assert "after 3 attempts" in errors[0]["message"]


async def test_connection_errors_retried_up_to_the_cap(make_llm: Callable[..., LLMClient]) -> None:
    sleep = FastSleep()
    llm = make_llm(base_url=f"http://127.0.0.1:{dead_port()}/v1", sleep=sleep, rng=lambda: 1.0, max_retries=7)
    with pytest.raises(LLMError) as err:
        await llm.complete(QUESTION)
    assert err.value.code == "llm_unavailable"
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0]


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= (retry_after_seconds({"retry-after": later}) or 0) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


# ---------------------------------------------------------------- failures that are not retried


async def test_hang_times_out_without_retry(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(hang(5))
    llm = make_llm(timeout=0.5)
    start = time.monotonic()
    with pytest.raises(LLMError) as err:
        _ = [p async for p in llm.stream(QUESTION)]
    assert err.value.code == "llm_timeout"
    assert time.monotonic() - start < 0.5 + 0.4
    assert len(srv.chat_requests()) == 1


async def test_first_token_timeout(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(ok("too late", first_token_delay=3))
    received: list[str] = []
    with pytest.raises(LLMError) as err:
        async for piece in make_llm(timeout=0.4).stream(QUESTION):
            received.append(piece)
    assert err.value.code == "llm_timeout" and received == []


async def test_stalled_stream_abandoned_after_first_token(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(ok("one two three", chunk_delay=3))
    received: list[str] = []
    llm = make_llm(timeout=0.4)
    start = time.monotonic()
    with pytest.raises(LLMError) as err:
        async for piece in llm.stream(QUESTION):
            received.append(piece)
    assert err.value.code == "llm_timeout" and received == ["one"]
    assert time.monotonic() - start < 0.4 + 0.4
    assert len(srv.chat_requests()) == 1  # never retried once text has been yielded
    assert await wait_until(lambda: srv.cancelled_streams == 1, 1.0)


async def test_scripted_context_too_long(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(context_too_long())
    with pytest.raises(LLMError) as err:
        _ = [p async for p in make_llm().stream(QUESTION)]
    assert err.value.code == "context_too_long" and not err.value.retryable
    assert len(srv.chat_requests()) == 1


async def test_server_enforces_its_context_window(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.max_context_tokens = 20
    long_question = [{"role": "user", "content": "word " * 30}]
    with pytest.raises(LLMError) as err:
        await make_llm().complete(long_question)
    assert err.value.code == "context_too_long"
    text, _ = await make_llm().complete(QUESTION)  # a short prompt still passes
    assert text.startswith("You said:")


async def test_auth_error_is_not_retried(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(auth_error(401))
    with pytest.raises(LLMError) as err:
        await make_llm().complete(QUESTION)
    assert err.value.code == "llm_auth" and len(srv.chat_requests()) == 1


# ---------------------------------------------------------------- cancellation


async def test_cancelled_consumer_closes_the_stream(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(ok(" ".join(f"w{i}" for i in range(20)), chunk_delay=0.2))
    received: list[str] = []
    two = asyncio.Event()

    async def consume() -> None:
        async for piece in make_llm().stream(QUESTION):
            received.append(piece)
            if len(received) == 2:
                two.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(two.wait(), 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until(lambda: srv.cancelled_streams == 1, 1.0)
    assert srv.chat_requests()[0].cancelled and srv.chat_requests()[0].chunks_sent < 20


async def test_leaving_early_closes_the_stream(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(ok("a b c d e f g h", chunk_delay=0.1))
    async with make_llm().stream(QUESTION) as gen:
        async for _ in gen:
            break
    assert await wait_until(lambda: srv.cancelled_streams == 1, 1.0)
    assert gen.usage is not None and gen.usage.estimated


# ---------------------------------------------------------------- health check


async def test_check_ok(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    assert await make_llm().check() == ("ok", "model fake-model available")
    status, detail = await make_llm(model="missing-model").check()
    assert status == "ok" and "not among" in detail


async def test_check_not_configured(make_llm: Callable[..., LLMClient]) -> None:
    status, _ = await make_llm(base_url=None).check()
    assert status == "not_configured"


async def test_check_dead_port_is_error(make_llm: Callable[..., LLMClient]) -> None:
    status, detail = await make_llm(base_url=f"http://127.0.0.1:{dead_port()}/v1").check()
    assert status == "error" and "cannot reach" in detail


async def test_check_failures(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    srv.script(hang(3), rate_limit(retry_after=5))
    llm = make_llm(check_timeout=0.3)
    start = time.monotonic()
    assert (await llm.check())[0] == "timeout"
    assert time.monotonic() - start < 0.3 + 0.4
    assert (await make_llm().check())[0] == "rate_limited"
    srv.api_key = "the-right-key"
    assert (await make_llm().check())[0] == "auth_failed"


async def test_check_is_cached_for_ten_seconds(srv: FakeOpenAI, make_llm: Callable[..., LLMClient]) -> None:
    now = [1000.0]
    llm = make_llm(clock=lambda: now[0])
    assert (await llm.check())[0] == "ok"
    now[0] += 9.9
    assert (await llm.check())[0] == "ok"
    assert len(srv.requests) == 1
    now[0] += 0.2
    srv.script(server_error(503))
    assert (await llm.check())[0] == "error"
    assert len(srv.requests) == 2


# ---------------------------------------------------------------- token estimates


def test_estimate_tokens_is_conservative() -> None:
    assert estimate_tokens("") == 0
    english = "The quarterly report shows that revenue grew by twelve percent while costs stayed flat."
    assert 15 <= estimate_tokens(english) <= 25  # ~16 BPE tokens
    assert estimate_tokens("数据管理系统") >= 6  # CJK: about one token per character
    assert estimate_tokens("1234567890") >= 4  # digits go in groups of three


async def test_fake_server_embeddings_are_deterministic(srv: FakeOpenAI) -> None:
    async with AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as client:
        first = await client.embeddings.create(model="m", input=["alpha", "beta"])  # the client asks for base64
        again = await client.embeddings.create(model="m", input="alpha", encoding_format="float")
    assert [len(d.embedding) for d in first.data] == [srv.embedding_dim] * 2
    assert first.data[0].embedding == pytest.approx(again.data[0].embedding, abs=1e-6)
    assert first.data[0].embedding != pytest.approx(first.data[1].embedding, abs=1e-6)
