"""Token endpoints, as the operators' guide calls them: token, refresh, logout; and `me`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import JSONBody

from server.auth import sessions
from server.auth.authenticate import client_address, current_claims
from server.auth.guards import OPTIONAL, PUBLIC
from server.db import users as users_db
from server.deps import RT, CallerDep, ViewerDep
from server.errors import NotFound
from server.users import to_wire
from shared import routes
from shared.models.auth import LogoutRequest, RefreshRequest, TokenPair, TokenRequest, User

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@post(routes.AUTH_TOKEN, tags=["auth"], status_code=200, opt=PUBLIC, security=[{}])
async def issue_token(rt: RT, request: Request[Any, Any, Any], data: JSONBody[TokenRequest]) -> Response[TokenPair]:
    """Sign in with `{"username": <email>, "password": ...}`; returns an access and a refresh token.

    401 `invalid_credentials` or `account_disabled`; 429 `rate_limited` or `account_locked` with
    Retry-After after repeated failures.
    """
    pair = await sessions.login(rt, data.username, data.password, client_address(request))
    return Response(pair, headers=_NO_STORE)


@post(routes.AUTH_REFRESH, tags=["auth"], status_code=200, opt=PUBLIC, security=[{}])
async def refresh_token(rt: RT, data: JSONBody[RefreshRequest]) -> Response[TokenPair]:
    """Exchange a refresh token for a new pair; the old refresh token stops working.

    Presenting an already-used refresh token revokes every token of its sign-in (401 `token_revoked`).
    """
    return Response(await sessions.refresh(rt, data.refresh_token), headers=_NO_STORE)


@post(routes.AUTH_LOGOUT, tags=["auth"], status_code=204, opt=OPTIONAL)
async def logout(rt: RT, request: Request[Any, Any, Any], viewer: ViewerDep, data: JSONBody[LogoutRequest | None] = None) -> None:
    """Sign out: revokes the bearer token and its sign-in's refresh tokens, and those of `refresh_token`."""
    claims = current_claims(request) if viewer is not None else None
    await sessions.logout(rt, claims, data.refresh_token if data else None)


@get(routes.AUTH_ME, tags=["auth"])
async def me(rt: RT, caller: CallerDep) -> User:
    """The signed-in account."""
    async with rt.pool.connection() as conn:
        row = await users_db.by_id(conn, caller.id)
    if row is None:
        raise NotFound("The account no longer exists.", code="user_not_found")
    return to_wire(row)


HANDLERS = [issue_token, refresh_token, logout, me]
