"""Bearer-token authentication: `Authorization: Bearer <access token>` -> `Caller`.

The signature and expiry are checked locally; then one small query reads the account (role,
disabled) and whether the token's jti was revoked. Its answer is cached in-process for
`SESSION_CACHE_SECONDS`, and revocations made by this process apply at once; on other replicas a
logout, a disabled account or a role change takes effect within that many seconds. The role
comes from the database, not from the token, so a demotion applies to tokens already issued.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from litestar.connection import ASGIConnection
from loguru import logger
from psycopg_pool import PoolTimeout

from server.auth import tokens
from server.auth.caller import Caller
from server.auth.ratelimit import RateLimiter
from server.auth.tokens import AccessClaims, TokenError
from server.db import tokens as tokens_db
from server.errors import AppError, ServiceUnavailable, Unauthorized
from server.runtime import Runtime

SESSION_CACHE_SECONDS = 2.0
STALE_GRACE_SECONDS = 300.0  # while the database is unreachable, a recent answer is used instead
_CACHE_MAX = 20_000
_REALM = 'Bearer realm="docman"'

_MESSAGES = {
    "token_missing": "Send an access token: `Authorization: Bearer <token>` (from POST /api/v1/auth/token).",
    "token_invalid": "The access token is invalid ({reason}); sign in again.",
    "token_expired": "The access token has expired; get a new one from POST /api/v1/auth/refresh.",
    "token_revoked": "The token has been revoked (signed out); sign in again.",
    "account_disabled": "This account is disabled; ask an administrator.",
}


@dataclass(frozen=True)
class _Session:
    at: float  # time.monotonic() of the lookup
    user_id: str
    email: str
    role: str
    disabled: bool
    revoked: bool


@dataclass
class AuthState:
    """Per-process authentication state, on `rt.extras["auth"]`."""

    secret: str
    limiter: RateLimiter
    revoked: dict[str, float] = field(default_factory=dict)  # jti -> expiry (epoch seconds)
    sessions: dict[str, _Session] = field(default_factory=dict)  # jti -> last lookup

    def revoke_local(self, jtis: list[str], until: float) -> None:
        for jti in jtis:
            self.revoked[jti] = until
            self.sessions.pop(jti, None)
        if len(self.revoked) > _CACHE_MAX:
            now = time.time()
            self.revoked = {j: e for j, e in self.revoked.items() if e > now}

    def forget_user(self, user_id: UUID | str) -> None:
        """Drop cached answers about this user's tokens (after a change to the account)."""
        uid = str(user_id)
        self.sessions = {j: s for j, s in self.sessions.items() if s.user_id != uid}


def auth_state(rt: Runtime) -> AuthState:
    state = rt.extras.get("auth")
    if state is None:
        raise ServiceUnavailable("The server is still starting; try again in a moment.", code="starting")
    return state  # type: ignore[no-any-return]


def token_error(code: str, reason: str = "") -> AppError:
    """The 401 for a refused token, with WWW-Authenticate as RFC 6750 asks."""
    header = _REALM if code == "token_missing" else f'{_REALM}, error="invalid_token", error_description="{code}"'
    return Unauthorized(_MESSAGES.get(code, reason).format(reason=reason), code=code,
                        headers={"WWW-Authenticate": header})


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    client = connection.scope.get("client")
    return str(client[0]) if client else "unknown"


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization")
    if not header:
        raise TokenError("token_missing", "no Authorization header")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("token_invalid", "the Authorization header is not `Bearer <token>`")
    return token.strip()


async def _session(rt: Runtime, state: AuthState, claims: AccessClaims) -> Caller:
    now = time.monotonic()
    session = state.sessions.get(claims.jti)
    if session is None or now - session.at > SESSION_CACHE_SECONDS:
        try:
            async with rt.pool.connection() as conn:
                found = await tokens_db.session_state(conn, claims.sub, claims.jti)
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            if session is not None and now - session.at < STALE_GRACE_SECONDS:
                logger.warning("token check used a {:.0f} s old answer: database unavailable ({})", now - session.at,
                               type(exc).__name__)
                pass  # keep the cached answer
            else:
                raise ServiceUnavailable("Cannot check the token: the database is unavailable; try again shortly.",
                                         code="database_unavailable") from None
        else:
            if found is None:
                raise TokenError("token_invalid", "no such account")
            if len(state.sessions) > _CACHE_MAX:
                state.sessions.clear()
            session = state.sessions[claims.jti] = _Session(now, claims.sub, *found)
    if session.disabled:
        raise TokenError("account_disabled", "the account is disabled")
    if session.revoked or claims.jti in state.revoked:
        state.revoked.setdefault(claims.jti, claims.exp)
        raise TokenError("token_revoked", "the token was revoked")
    return Caller(id=UUID(session.user_id), email=session.email, role=session.role)


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """The caller behind the request's bearer token (memoised on the request), or a 401."""
    caller = getattr(connection.state, "docman_caller", None)
    if caller is not None:
        return caller  # type: ignore[no-any-return]
    rt: Runtime = connection.app.state.rt
    state = auth_state(rt)
    try:
        claims = tokens.decode(state.secret, _bearer(connection))
        caller = await _session(rt, state, claims)
    except TokenError as exc:
        where = f"{connection.scope.get('method', '')} {connection.scope['path']}"
        if exc.code == "token_missing":
            logger.info("request without a bearer token: {}", where)
        else:
            logger.warning("invalid token rejected ({}): {} on {} from {}", exc.code, exc.reason, where,
                           client_address(connection))
        raise token_error(exc.code, exc.reason) from None
    connection.state.docman_caller = caller
    connection.state.docman_claims = claims
    return caller


async def optional_caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller | None:
    """For `optional` routes: None without a token; a bad token is a 401; if the token cannot be
    checked (database down) the request goes on as anonymous, so public health checks keep working."""
    if "authorization" not in connection.headers:
        return None
    try:
        return await authenticate(connection)
    except ServiceUnavailable:
        return None


def current_claims(connection: ASGIConnection[Any, Any, Any, Any]) -> AccessClaims | None:
    """The verified claims of this request's token, once `authenticate` has run."""
    return getattr(connection.state, "docman_claims", None)
