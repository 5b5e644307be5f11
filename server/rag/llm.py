"""The LLM client: OpenAI-compatible chat completions with our own retries, timeouts and metrics.

Retries (HTTP 429, 5xx, connection errors) happen only before the first token reaches the
caller, so streamed text is never duplicated: up to `cfg.max_retries`, with full-jitter
exponential backoff (base 0.5 s, cap 20 s) that never waits less than the provider's
`Retry-After`. The openai client's own retries are off so backoff, jitter and logging are ours.

Timeouts: `cfg.timeout` bounds each attempt up to its first token (connect, headers, first text)
and then every gap between tokens, so a hung stream is abandoned; an answer that keeps coming is
never cut off. A `complete()` attempt is bounded by `cfg.timeout` as a whole. Timeouts are not
retried: the caller has already waited a full timeout.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar

import openai
from loguru import logger
from openai import AsyncOpenAI

from server.rag import llm_metrics as metrics
from server.rag.tokens import estimate_messages_tokens, estimate_tokens
from server.settings import LLMSettings

log = logger.bind(service="llm_service")

BACKOFF_BASE = 0.5
BACKOFF_CAP = 20.0
CHECK_CACHE_SECONDS = 10.0

T = TypeVar("T")
Messages = list[dict[str, str]]
_RETRIED = {"rate_limited", "server_error", "connection"}


class LLMError(Exception):
    """A failed LLM call. `code`: llm_unavailable | llm_timeout | context_too_long | llm_auth |
    llm_bad_request; `retryable`: the condition is transient, asking again later may work."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"LLMError({self.code!r}, {self.message!r}, retryable={self.retryable})"


@dataclass
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False  # the provider reported none; counted with server.rag.tokens


class Generation:
    """One streamed answer: iterate it for text deltas; `usage` and `text` are complete once it
    ends. Use `async with llm.stream(...) as gen` (or `aclose()`) when you may stop early;
    cancelling the consuming task also closes the HTTP stream at once."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.text = ""
        self._agen: AsyncGenerator[str, None] | None = None

    def __aiter__(self) -> Generation:
        return self

    async def __anext__(self) -> str:
        assert self._agen is not None
        return await self._agen.__anext__()

    def tokens(self) -> AsyncIterator[str]:
        return self

    async def aclose(self) -> None:
        if self._agen is not None:
            await self._agen.aclose()

    async def __aenter__(self) -> Generation:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()


@dataclass(frozen=True)
class _Failure:
    kind: str  # metrics.ERROR_KINDS
    code: str  # LLMError.code
    detail: str
    retry: bool
    retry_after: float | None = None


def _detail(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    try:
        if ms := headers.get("retry-after-ms"):
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = parsedate_to_datetime(value)
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def classify(exc: BaseException) -> _Failure:
    """Map an openai/asyncio exception onto an error kind, an `LLMError` code and a retry verdict."""
    if isinstance(exc, (TimeoutError, openai.APITimeoutError)):
        return _Failure("timeout", "llm_timeout", "the LLM did not answer in time", False)
    if isinstance(exc, openai.APIConnectionError):
        return _Failure("connection", "llm_unavailable", f"cannot reach the LLM service ({exc.__cause__ or exc})", True)
    if isinstance(exc, openai.APIStatusError):
        status, detail = exc.status_code, _detail(exc)
        after = retry_after_seconds(exc.response.headers)
        if status == 429 and exc.code == "insufficient_quota":
            return _Failure("rate_limited", "llm_unavailable", f"LLM quota exhausted: {detail}", False)
        if status == 429:
            return _Failure("rate_limited", "llm_unavailable", detail, True, after)
        if status >= 500:
            return _Failure("server_error", "llm_unavailable", f"HTTP {status}: {detail}", True, after)
        if status in (401, 403):
            return _Failure("auth", "llm_auth", f"the LLM service refused our credentials (HTTP {status}): {detail}", False)
        low = detail.lower()
        if exc.code == "context_length_exceeded" or "context length" in low or "maximum context" in low:
            return _Failure("context_too_long", "context_too_long", detail, False)
        return _Failure("bad_request", "llm_bad_request", f"HTTP {status}: {detail}", False)
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        return _Failure("server_error", "llm_unavailable", _detail(exc), True)
    return _Failure("bad_request", "llm_bad_request", f"{type(exc).__name__}: {exc}", False)


class _Outcome:
    """Observes `llm_request_duration_seconds` with the outcome of the block it wraps."""

    def __init__(self) -> None:
        self.value = "cancelled"
        self.started = time.monotonic()

    def __enter__(self) -> _Outcome:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(e, LLMError):
            self.value = e.code
        elif e is not None and not isinstance(e, (asyncio.CancelledError, GeneratorExit)):
            self.value = "error"
        metrics.REQUEST_DURATION.labels(self.value).observe(time.monotonic() - self.started)


def _delta(chunk: Any) -> str:
    if not chunk.choices:
        return ""
    delta = chunk.choices[0].delta
    return (delta.content or "") if delta is not None else ""


def _usage(messages: Messages, text: str, reported: Any) -> Usage:
    if reported is not None and reported.prompt_tokens is not None:
        usage = Usage(reported.prompt_tokens, reported.completion_tokens or 0)
    else:
        usage = Usage(estimate_messages_tokens(messages), estimate_tokens(text), estimated=True)
    metrics.TOKENS.labels("prompt").inc(usage.prompt_tokens)
    metrics.TOKENS.labels("completion").inc(usage.completion_tokens)
    return usage


class LLMClient:
    """Chat completions against one OpenAI-compatible endpoint; one per process, shared."""

    def __init__(
        self,
        cfg: LLMSettings,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfg = cfg
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self._client = (
            AsyncOpenAI(base_url=cfg.base_url, api_key=cfg.api_key or "not-needed", timeout=cfg.timeout, max_retries=0)
            if cfg.configured
            else None
        )
        self._check_lock = asyncio.Lock()
        self._check_cache: tuple[float, tuple[str, str]] | None = None

    # ---------------------------------------------------------------- generation

    def stream(self, messages: Messages, *, max_tokens: int | None = None) -> Generation:
        """Start a streamed answer; nothing is sent until the first iteration."""
        gen = Generation()
        gen._agen = self._stream(gen, messages, max_tokens)
        return gen

    async def _stream(self, gen: Generation, messages: Messages, max_tokens: int | None) -> AsyncGenerator[str, None]:
        client = self._require()
        parts: list[str] = []
        stream: Any = None
        with _Outcome() as outcome:
            try:
                stream, first, reported = await self._retrying(lambda: self._open(client, messages, max_tokens))
                if first is not None:
                    metrics.TIME_TO_FIRST_TOKEN.observe(time.monotonic() - outcome.started)
                piece: str | None = first
                while piece is not None:
                    if piece:
                        parts.append(piece)
                        gen.text += piece
                        yield piece
                    chunk = await self._next_chunk(stream)
                    if chunk is None:
                        break
                    reported = chunk.usage or reported
                    piece = _delta(chunk)
                gen.usage = _usage(messages, gen.text, reported)
                outcome.value = "ok"
            finally:
                if stream is not None:
                    await stream.close()
                if gen.usage is None and parts:  # stopped early: count what was generated
                    gen.usage = _usage(messages, gen.text, None)

    async def _open(self, client: AsyncOpenAI, messages: Messages, max_tokens: int | None) -> tuple[Any, str | None, Any]:
        """One attempt: send, then read up to the first text within `cfg.timeout`.
        Returns the open stream, the first text (None: ended without any) and any usage seen."""
        stream: Any = None
        reported = None
        try:
            async with asyncio.timeout(self._cfg.timeout):
                stream = await client.chat.completions.create(
                    **self._params(messages, max_tokens), stream=True, stream_options={"include_usage": True}
                )
                while (chunk := await anext(stream, None)) is not None:
                    reported = chunk.usage or reported
                    if piece := _delta(chunk):
                        return stream, piece, reported
                return stream, None, reported
        except BaseException:
            if stream is not None:
                await stream.close()
            raise

    async def _next_chunk(self, stream: Any) -> Any:
        """The next chunk (None at the end), within the idle timeout; no retries past here."""
        try:
            async with asyncio.timeout(self._cfg.timeout):
                return await anext(stream, None)
        except (TimeoutError, openai.APIError) as exc:
            failure = classify(exc)
            metrics.ERRORS.labels(failure.kind).inc()
            detail = f"no token for {self._cfg.timeout:g} s" if failure.kind == "timeout" else failure.detail
            log.warning("LLM stream broke off after the first token: {}", detail)
            raise LLMError(failure.code, f"the LLM stream broke off: {detail}", retryable=True) from exc

    async def complete(self, messages: Messages, *, max_tokens: int | None = None) -> tuple[str, Usage]:
        """The whole answer at once, with its usage."""
        client = self._require()

        async def once() -> Any:
            async with asyncio.timeout(self._cfg.timeout):
                return await client.chat.completions.create(**self._params(messages, max_tokens))

        with _Outcome() as outcome:
            response = await self._retrying(once)
            text = (response.choices[0].message.content or "") if response.choices else ""
            usage = _usage(messages, text, response.usage)
            outcome.value = "ok"
            return text, usage

    def _params(self, messages: Messages, max_tokens: int | None) -> dict[str, Any]:
        return {
            "model": self._cfg.model,
            "messages": messages,
            "max_tokens": max_tokens or self._cfg.max_tokens,
            "temperature": self._cfg.temperature,
        }

    def _require(self) -> AsyncOpenAI:
        if self._client is None:
            raise LLMError("llm_unavailable", "no LLM is configured (DOCMAN_LLM_BASE_URL is unset)")
        return self._client

    # ---------------------------------------------------------------- retries

    async def _retrying(self, attempt_once: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await attempt_once()
            except (TimeoutError, openai.APIError) as exc:
                failure = classify(exc)
                metrics.ERRORS.labels(failure.kind).inc()
                delay = self._delay(attempt, failure)
                if delay is None:
                    raise self._give_up(failure, attempt) from exc
            metrics.RETRIES.inc()
            await self._sleep(delay)

    def _delay(self, attempt: int, failure: _Failure) -> float | None:
        """Seconds before the next attempt, or None to give up. Logs the retry."""
        if not failure.retry or attempt > self._cfg.max_retries:
            return None
        if failure.retry_after is not None and failure.retry_after > max(BACKOFF_CAP, self._cfg.timeout):
            return None  # the provider asks for longer than a user will wait
        backoff = self._rng() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        delay = max(backoff, failure.retry_after or 0.0)
        what = {"rate_limited": "LLM rate limit hit", "server_error": "LLM server error"}.get(failure.kind, "LLM connection failed")
        log.warning("{} ({}); retry {}/{} in {:.2f} s", what, failure.detail, attempt, self._cfg.max_retries, delay)
        return delay

    def _give_up(self, failure: _Failure, attempts: int) -> LLMError:
        if failure.kind == "rate_limited":
            message = f"LLM rate limit exceeded after {attempts} attempt{'s' if attempts > 1 else ''}"
            if failure.retry_after is not None and failure.retry_after > max(BACKOFF_CAP, self._cfg.timeout):
                message += f" (the provider asks to wait {failure.retry_after:.0f} s)"
            log.error("{}: {}", message, failure.detail)
            return LLMError(failure.code, message, retryable=failure.retry)
        if failure.retry:
            message = f"LLM service unavailable after {attempts} attempt{'s' if attempts > 1 else ''}: {failure.detail}"
            log.error("{}", message)
            return LLMError(failure.code, message, retryable=True)
        if failure.kind in ("timeout", "context_too_long"):
            log.warning("LLM request failed: {}", failure.detail)
        else:
            log.error("LLM request failed: {}", failure.detail)
        return LLMError(failure.code, failure.detail, retryable=failure.kind == "timeout")

    # ---------------------------------------------------------------- health

    async def check(self) -> tuple[str, str]:
        """(status, detail) of the endpoint from `GET /models`; cached 10 s; never raises."""
        if self._client is None:
            return "not_configured", "no LLM configured (DOCMAN_LLM_BASE_URL is unset): answers are extractive"
        async with self._check_lock:
            cached = self._check_cache
            if cached is not None and self._clock() - cached[0] < CHECK_CACHE_SECONDS:
                return cached[1]
            result = await self._probe(self._client)
            self._check_cache = (self._clock(), result)
            return result

    async def _probe(self, client: AsyncOpenAI) -> tuple[str, str]:
        timeout = self._cfg.check_timeout
        try:
            async with asyncio.timeout(timeout):
                page = await client.models.list(timeout=timeout)
        except (TimeoutError, openai.APITimeoutError):
            return "timeout", f"{self._cfg.base_url} did not answer within {timeout:g} s"
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            return "auth_failed", f"HTTP {exc.status_code}: {_detail(exc)}"
        except openai.RateLimitError as exc:
            return "rate_limited", _detail(exc)
        except openai.APIStatusError as exc:
            return "error", f"HTTP {exc.status_code}: {_detail(exc)}"
        except openai.APIConnectionError as exc:
            return "error", f"cannot reach {self._cfg.base_url}: {exc.__cause__ or exc}"
        except Exception as exc:  # a health check never raises
            return "error", f"{type(exc).__name__}: {exc}"
        ids = [model.id for model in page.data]
        if ids and self._cfg.model not in ids:
            return "ok", f"endpoint up, but model {self._cfg.model} is not among its {len(ids)} listed models"
        return "ok", f"model {self._cfg.model} available"

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
