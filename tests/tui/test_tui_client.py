"""The HTTP client on its own: token refresh, error messages, SSE parsing, the credentials file."""

from __future__ import annotations

import asyncio
import json
import stat
from contextlib import aclosing
from pathlib import Path

import httpx
import pytest

from shared.models.chat import Done, Sources, Token
from tui.client import DocmanClient
from tui.credentials import CredentialStore, Session
from tui.errors import ApiError, Forbidden, NotSignedIn, RateLimited, ServerError, Unreachable
from tui.sse import parse_lines

PAIR = {"access_token": "new-access", "refresh_token": "new-refresh", "token_type": "bearer", "expires_in": 900}
ME = {"id": "u1", "email": "a@example.com", "role": "admin"}


def error(status: int, code: str, message: str = "nope", **headers: str) -> httpx.Response:
    body = {"code": code, "message": message, "detail": None, "correlation_id": "cid-42"}
    return httpx.Response(status, json=body, headers=headers)


def mock_client(handler: object, store: CredentialStore | None = None, **session: object) -> DocmanClient:
    s = Session(server="http://api.test", email="a@example.com", **session)  # type: ignore[arg-type]
    return DocmanClient("http://api.test", session=s, store=store, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_expired_token_is_refreshed_once_and_saved(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization")))
        if request.url.path.endswith("/auth/refresh"):
            assert json.loads(request.content) == {"refresh_token": "old-refresh"}
            return httpx.Response(200, json=PAIR)
        if request.headers.get("authorization") == "Bearer old-access":
            return error(401, "token_expired")
        return httpx.Response(200, json=ME)

    store = CredentialStore(tmp_path / "cfg" / "docman" / "credentials.json")
    client = mock_client(handler, store, access_token="old-access", refresh_token="old-refresh")
    users = await asyncio.gather(client.me(), client.me(), client.me())
    assert all(u.email == "a@example.com" for u in users)
    assert [p for p, _ in seen].count("/api/v1/auth/refresh") == 1  # rotation: one refresh for all three
    saved = store.load()
    assert saved is not None and saved.refresh_token == "new-refresh" and saved.access_token == "new-access"
    assert stat.S_IMODE(store.file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.file.parent.stat().st_mode) == 0o700


async def test_second_401_is_raised_with_a_human_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/refresh"):
            return httpx.Response(200, json=PAIR)
        return error(401, "token_expired", "The access token has expired.")

    client = mock_client(handler, access_token="a", refresh_token="r")
    with pytest.raises(NotSignedIn, match="docman login"):
        await client.me()


async def test_refused_refresh_forgets_the_session() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/refresh"):
            return error(401, "token_revoked", "The token has been revoked.")
        return error(401, "token_expired")

    client = mock_client(handler, access_token="a", refresh_token="r")
    with pytest.raises(NotSignedIn, match="revoked"):
        await client.me()
    assert not client.session.signed_in()


@pytest.mark.parametrize(
    ("response", "kind", "text"),
    [
        (error(403, "insufficient_role", "This needs the operator role; a is a user."), Forbidden, "operator role"),
        (error(429, "rate_limited", "Slow down.", **{"Retry-After": "7"}), RateLimited, "Try again in 7 s"),
        (error(500, "internal_error", "Boom."), ServerError, "correlation id cid-42"),
        (error(422, "validation_error", "The request is not valid."), ApiError, "not valid"),
        (httpx.Response(502, text="<html>bad gateway</html>"), ServerError, "502"),
    ],
)
async def test_errors_have_human_messages(response: httpx.Response, kind: type, text: str) -> None:
    client = mock_client(lambda request: response, access_token="a")
    with pytest.raises(kind, match=text) as info:
        await client.jobs()
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == 7


async def test_unreachable_server() -> None:
    client = DocmanClient("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(
        Unreachable, match=r"Cannot reach the server at http://127.0.0.1:9: is `docman serve` running\?"
    ):
        await client.login("a@example.com", "password")
    await client.aclose()


async def test_chat_events_stream_and_close() -> None:
    body = (
        b": keep-alive\n\n"
        b'event: sources\ndata: {"type":"sources","citations":[]}\n\n'
        b'event: token\r\ndata: {"type":"token",\r\ndata: "text":"Hi"}\r\n\r\n'
        b'event: done\ndata: {"type":"done","mode":"extractive","cited":[1]}'
    )
    client = mock_client(
        lambda request: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"}),
        access_token="a",
    )
    async with aclosing(client.ask("c1", "hello")) as events:
        got = [e async for e in events]
    assert isinstance(got[0], Sources)
    assert isinstance(got[1], Token) and got[1].text == "Hi"
    assert isinstance(got[2], Done) and got[2].mode == "extractive"


def test_sse_parser_fields() -> None:
    lines = ["retry: 100", "id: 7", "event: log", "data: one", "data:two", "", ":comment", "data: x", ""]
    events = list(parse_lines(lines))
    assert [(e.event, e.data, e.id) for e in events] == [("log", "one\ntwo", "7"), ("message", "x", "7")]
    assert list(parse_lines(["event: only-a-name", ""])) == []


def test_credentials_store_round_trip(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "docman" / "credentials.json")
    assert store.load() is None
    store.save(Session(server="http://x", email="e@x", refresh_token="r"))
    assert store.load() == Session(server="http://x", email="e@x", refresh_token="r")
    store.clear()
    assert store.load() is None


def test_session_of_another_server_is_not_used() -> None:
    saved = Session(server="http://one:8000", email="e@x", refresh_token="secret")
    client = DocmanClient("http://two:8000", session=saved)
    assert client.session.refresh_token is None
