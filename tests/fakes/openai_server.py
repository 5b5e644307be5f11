"""A fake OpenAI-protocol HTTP server for tests, on 127.0.0.1 in a background thread (stdlib only).

    with FakeOpenAI(max_context_tokens=200) as srv:
        srv.script(rate_limit(retry_after=1), ok("Hello there"))   # consumed one per request
        client = AsyncOpenAI(base_url=srv.base_url, api_key="k")
        ...
        assert [r.behaviour for r in srv.chat_requests()] == ["rate_limit", "ok"]

Endpoints: `GET /v1/models`, `POST /v1/chat/completions` (JSON or SSE stream), `POST /v1/embeddings`.
The scripted queue is shared by all endpoints; when it is empty a request is answered normally,
chat with `reply(messages)` (default: an echo of the last user message). With `api_key` set, a
request without that bearer key gets a 401 and consumes nothing. Every request is recorded
(`requests`: body, headers, arrival time); a stream the client abandons (seen as EOF while
pausing, or a broken pipe on write) marks its record `cancelled` and counts in `cancelled_streams`.

Token approximation (the server's own context check and the `usage` it reports): a text counts
`ceil(words * 4 / 3)` tokens, words split on whitespace; a request counts the sum over its
messages' contents. A streamed answer counts one completion token per streamed piece (word).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Behaviour:
    """What the server does with one request."""

    kind: str  # ok | rate_limit | server_error | hang | context_too_long | auth_error
    text: str | None = None
    chunk_delay: float = 0.0
    first_token_delay: float = 0.0
    retry_after: str | None = None
    status: int = 200
    seconds: float = 0.0


def ok(text: str | None = None, chunk_delay: float = 0.0, first_token_delay: float = 0.0) -> Behaviour:
    """Answer normally with `text` (None: the default reply), pausing between streamed pieces."""
    return Behaviour("ok", text=text, chunk_delay=chunk_delay, first_token_delay=first_token_delay)


def rate_limit(retry_after: float | str | None = 1) -> Behaviour:
    """HTTP 429; `Retry-After` is seconds, an HTTP date string, or None for no header."""
    return Behaviour("rate_limit", status=429, retry_after=None if retry_after is None else str(retry_after))


def server_error(status: int = 500) -> Behaviour:
    return Behaviour("server_error", status=status)


def hang(seconds: float) -> Behaviour:
    """Say nothing for `seconds` (ends early if the client goes away), then answer normally."""
    return Behaviour("hang", seconds=seconds)


def context_too_long() -> Behaviour:
    return Behaviour("context_too_long", status=400)


def auth_error(status: int = 401) -> Behaviour:
    return Behaviour("auth_error", status=status)


def approx_tokens(text: str) -> int:
    return math.ceil(len(text.split()) * 4 / 3)


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else json.dumps(content)


def _echo(messages: list[dict[str, Any]]) -> str:
    users = [_content(m) for m in messages if m.get("role") == "user"]
    return "You said: " + " ".join((users[-1] if users else "").split()[:12])


def fake_embedding(text: str, dim: int) -> list[float]:
    """A deterministic unit vector derived from sha256 of the text."""
    raw: list[float] = []
    counter = 0
    while len(raw) < dim:
        raw.extend(b / 127.5 - 1.0 for b in hashlib.sha256(f"{counter}:{text}".encode()).digest())
        counter += 1
    vec = raw[:dim]
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / norm for x in vec]


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    time: float  # time.monotonic() on arrival
    behaviour: str = ""
    cancelled: bool = False  # the client went away before the answer was complete
    chunks_sent: int = 0


class _Gone(Exception):
    """The client disconnected (or the server is stopping)."""


_GONE = (_Gone, BrokenPipeError, ConnectionResetError)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeOpenAI


class FakeOpenAI:
    """The server and its thread-safe control object; a context manager."""

    def __init__(
        self,
        *,
        models: Iterable[str] = ("fake-model",),
        embedding_dim: int = 8,
        max_context_tokens: int | None = None,
        api_key: str | None = None,
        send_usage: bool = True,
        reply: Callable[[list[dict[str, Any]]], str] = _echo,
    ) -> None:
        self.models, self.embedding_dim, self.reply = tuple(models), embedding_dim, reply
        self.max_context_tokens, self.api_key, self.send_usage = max_context_tokens, api_key, send_usage
        self._lock = threading.Lock()
        self._queue: deque[Behaviour] = deque()
        self._requests: list[Recorded] = []
        self._cancelled = 0
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeOpenAI:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours, consumed one per request (any endpoint) in order."""
        with self._lock:
            self._queue.extend(behaviours)

    def reset(self) -> None:
        """Forget the script, the recorded requests and the cancel count."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._cancelled = 0

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def cancelled_streams(self) -> int:
        with self._lock:
            return self._cancelled

    def _take(self, rec: Recorded, scripted: bool = True) -> Behaviour:
        """Record `rec` and hand out the next scripted behaviour (unscripted: a plain `ok`)."""
        with self._lock:
            behaviour = self._queue.popleft() if self._queue and scripted else ok()
            rec.behaviour = behaviour.kind if scripted else "unauthorized"
            self._requests.append(rec)
            return behaviour

    def _stream_cancelled(self) -> None:
        with self._lock:
            self._cancelled += 1


def _error(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        rec = Recorded(method, self.path, headers, body, time.monotonic())
        route = self.path.split("?")[0].rstrip("/")
        if fake.api_key and headers.get("authorization") != f"Bearer {fake.api_key}":
            fake._take(rec, scripted=False)
            self._json(401, _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"))
            return
        handler = {
            ("GET", "/v1/models"): self._models,
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/embeddings"): self._embeddings,
        }.get((method, route))
        if handler is None:
            self._json(404, _error(f"Unknown route {method} {route}", "invalid_request_error", "not_found"))
            return
        behaviour = fake._take(rec)
        try:
            if not self._scripted_error(behaviour):
                handler(rec, behaviour)
        except _GONE:
            rec.cancelled = True
            self.close_connection = True

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _pause(self, seconds: float) -> None:
        """Sleep, but raise `_Gone` as soon as the client closes the connection."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.server.fake._stopping.is_set():
                raise _Gone
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.02))
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        raise _Gone
                except OSError:
                    raise _Gone from None
                time.sleep(max(0.0, deadline - time.monotonic()))  # data, not EOF: cannot tell more
                return

    def _scripted_error(self, b: Behaviour) -> bool:
        if b.kind == "hang":
            self._pause(b.seconds)
            return False
        if b.kind == "rate_limit":
            headers = {"Retry-After": b.retry_after} if b.retry_after is not None else {}
            msg = "Rate limit reached for requests. Please try again later."
            self._json(429, _error(msg, "rate_limit_exceeded", "rate_limit_exceeded"), headers)
        elif b.kind == "server_error":
            self._json(b.status, _error("The server had an error while processing your request.", "server_error", None))
        elif b.kind == "context_too_long":
            self._context_error(None)
        elif b.kind == "auth_error":
            self._json(b.status, _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"))
        else:
            return False
        return True

    def _context_error(self, tokens: int | None) -> None:
        limit = self.server.fake.max_context_tokens or 8192
        msg = (f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
               f"{tokens or limit + 1} tokens. Please reduce the length of the messages.")
        self._json(400, _error(msg, "invalid_request_error", "context_length_exceeded", "messages"))

    def _models(self, rec: Recorded, b: Behaviour) -> None:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.server.fake.models]
        self._json(200, {"object": "list", "data": data})

    def _embeddings(self, rec: Recorded, b: Behaviour) -> None:
        body = rec.body or {}
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else [x if isinstance(x, str) else json.dumps(x) for x in inputs]
        dim = int(body.get("dimensions") or self.server.fake.embedding_dim)
        data = []
        for i, text in enumerate(texts):
            vec = fake_embedding(text, dim)
            emb: Any = vec
            if body.get("encoding_format") == "base64":
                emb = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(approx_tokens(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        self._json(200, {"object": "list", "data": data, "model": body.get("model", ""), "usage": usage})

    def _chat(self, rec: Recorded, b: Behaviour) -> None:
        fake = self.server.fake
        body = rec.body or {}
        messages: list[dict[str, Any]] = body.get("messages", [])
        prompt_tokens = sum(approx_tokens(_content(m)) for m in messages)
        if fake.max_context_tokens is not None and prompt_tokens > fake.max_context_tokens:
            self._context_error(prompt_tokens)
            return
        text = b.text if b.text is not None else fake.reply(messages)
        pieces = re.findall(r"\s*\S+", text)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(pieces), "total_tokens": prompt_tokens + len(pieces)}
        base = {"id": f"chatcmpl-fake-{id(rec)}", "created": int(time.time()), "model": body.get("model", "")}
        if not body.get("stream"):
            self._pause(b.first_token_delay)
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
            answer = {**base, "object": "chat.completion", "choices": [choice]}
            self._json(200, {**answer, "usage": usage} if fake.send_usage else answer)
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._stream(rec, base, pieces, b, usage if include_usage and fake.send_usage else None, include_usage)
        except _GONE:
            if not fake._stopping.is_set():
                fake._stream_cancelled()
            raise

    def _stream(self, rec: Recorded, base: dict[str, Any], pieces: list[str], b: Behaviour,
                usage: dict[str, int] | None, include_usage: bool) -> None:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            out = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return {**out, "usage": None} if include_usage else out

        self._event(chunk({"role": "assistant", "content": ""}))
        self._pause(b.first_token_delay)
        for i, piece in enumerate(pieces):
            if i:
                self._pause(b.chunk_delay)
            self._event(chunk({"content": piece}))
            rec.chunks_sent += 1
        self._event(chunk({}, "stop"))
        if usage is not None:
            self._event({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        self._write(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _event(self, obj: dict[str, Any]) -> None:
        self._write(b"data: " + json.dumps(obj).encode() + b"\n\n")

    def _write(self, data: bytes) -> None:
        """One HTTP chunk (chunked transfer encoding)."""
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
