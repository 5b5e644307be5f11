"""The HTTP layer under `DocmanClient`: bearer tokens, refresh on expiry, errors, SSE streams."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from shared import routes
from shared.models.auth import LogoutRequest, RefreshRequest, TokenPair, TokenRequest
from tui.credentials import CredentialStore, Session, normalize_url
from tui.errors import ClientError, NotSignedIn, Unreachable, error_for
from tui.sse import SSEEvent, aparse_lines

T = TypeVar("T")
REFRESHABLE = frozenset({"token_expired"})
USER_AGENT = "docman-tui/1.0"


def path(template: str, **values: object) -> str:
    """Fill a `shared.routes` template: `{document_id:uuid}` -> the value."""
    out = template
    for name, value in values.items():
        start = out.index("{" + name)
        out = out[:start] + str(value) + out[out.index("}", start) + 1 :]
    return out


class HttpCore:
    """Sends requests as the signed-in account; refreshes the access token once when it expires.

    `store`, when given, is updated whenever the tokens change (sign in, refresh, sign out).
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: Session | None = None,
        store: CredentialStore | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = normalize_url(base_url)
        self.session = (
            session if session is not None and session.server == self.base_url else Session(server=self.base_url)
        )
        self.store = store
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=5.0),
        )
        self._refresh_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ session

    async def login(self, email: str, password: str) -> TokenPair:
        resp = await self._send(
            "POST",
            routes.AUTH_TOKEN,
            json=msgspec.to_builtins(TokenRequest(username=email, password=password)),
            auth=False,
        )
        pair = msgspec.json.decode(resp.content, type=TokenPair)
        self.session = Session(server=self.base_url, email=email)
        self._adopt(pair)
        return pair

    async def logout(self) -> None:
        """Revoke the session on the server (best effort) and forget it here."""
        refresh = self.session.refresh_token
        try:
            if self.session.access_token or refresh:
                body = msgspec.to_builtins(LogoutRequest(refresh_token=refresh))
                await self._send(
                    "POST", routes.AUTH_LOGOUT, json=body, auth=bool(self.session.access_token), retry=False
                )
        except ClientError:
            pass
        self.session = Session(server=self.base_url, email=self.session.email)
        if self.store is not None:
            self.store.clear()

    async def refresh(self, stale: str | None = None) -> None:
        """Exchange the refresh token for a new pair (once, however many requests ask at a time)."""
        async with self._refresh_lock:
            if self.session.access_token != stale and self.session.access_fresh():
                return  # another request refreshed while this one waited
            token = self.session.refresh_token
            if not token:
                raise NotSignedIn("Not signed in: sign in first (`docman login`).", status=401, code="token_missing")
            try:
                resp = await self._send(
                    "POST",
                    routes.AUTH_REFRESH,
                    auth=False,
                    json=msgspec.to_builtins(RefreshRequest(refresh_token=token)),
                )
            except NotSignedIn:
                self.session.refresh_token = self.session.access_token = None
                self._save()
                raise
            self._adopt(msgspec.json.decode(resp.content, type=TokenPair))

    def _adopt(self, pair: TokenPair) -> None:
        self.session.access_token = pair.access_token
        self.session.refresh_token = pair.refresh_token
        self.session.access_expires_at = time.time() + pair.expires_in
        self._save()

    def _save(self) -> None:
        if self.store is not None:
            self.store.save(self.session)

    # ------------------------------------------------------------------ requests

    async def _headers(self, auth: bool) -> dict[str, str]:
        if not auth:
            return {}
        if not self.session.access_fresh() and self.session.refresh_token:
            await self.refresh(self.session.access_token)
        token = self.session.access_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _send(
        self,
        method: str,
        url: str,
        *,
        auth: bool = True,
        retry: bool = True,
        stream: bool = False,
        timeout: httpx.Timeout | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """One request; 401 token_expired refreshes and retries once; errors raise `ClientError`s."""
        extra = headers or {}
        for attempt in (0, 1):
            sent_headers = {**extra, **await self._headers(auth)}
            sent_token = self.session.access_token
            request = self._http.build_request(
                method, url, headers=sent_headers, timeout=timeout or self._http.timeout, **kw
            )
            try:
                resp = await self._http.send(request, stream=stream)
            except httpx.ConnectTimeout as exc:
                raise Unreachable(self.base_url, "connection timed out") from exc
            except httpx.TimeoutException as exc:
                raise ClientError(
                    f"The server at {self.base_url} did not answer in time ({type(exc).__name__}).", code="timeout"
                ) from exc
            except httpx.TransportError as exc:
                raise Unreachable(self.base_url, str(exc) or type(exc).__name__) from exc
            if resp.is_success:
                return resp
            if stream:
                await resp.aread()
                await resp.aclose()
            error = error_for(resp.status_code, resp.content, {k.lower(): v for k, v in resp.headers.items()}, url)
            if (
                attempt == 0
                and retry
                and auth
                and resp.status_code == 401
                and error.code in REFRESHABLE
                and self.session.refresh_token
            ):
                await self.refresh(sent_token)
                continue
            raise error
        raise AssertionError("unreachable")

    async def get(self, url: str, type: type[T], params: Mapping[str, Any] | None = None) -> T:
        resp = await self._send("GET", url, params=_clean(params))
        return msgspec.json.decode(resp.content, type=type)

    async def post(
        self,
        url: str,
        type: type[T],
        body: msgspec.Struct | None = None,
        params: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> T:
        json = msgspec.to_builtins(body) if body is not None else None
        resp = await self._send("POST", url, json=json, params=_clean(params), **kw)
        return msgspec.json.decode(resp.content, type=type)

    async def sse(
        self,
        method: str,
        url: str,
        *,
        body: msgspec.Struct | None = None,
        params: Mapping[str, Any] | None = None,
        read_timeout: float | None = 300.0,
    ) -> AsyncGenerator[SSEEvent, None]:
        """The events of a streamed response; closing the iterator (or cancelling) closes the connection."""
        json = msgspec.to_builtins(body) if body is not None else None
        timeout = httpx.Timeout(self._http.timeout.connect or 5.0, read=read_timeout, connect=5.0)
        resp = await self._send(
            method,
            url,
            json=json,
            params=_clean(params),
            stream=True,
            timeout=timeout,
            headers={"Accept": "text/event-stream"},
        )
        try:
            async for event in aparse_lines(resp.aiter_lines()):
                yield event
        except httpx.TimeoutException as exc:
            raise Unreachable(self.base_url, "the stream stalled") from exc
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, f"the stream broke: {exc}") from exc
        finally:
            await resp.aclose()


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the unset ones; booleans as true/false."""
    if params is None:
        return None
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v not in (None, "")}
