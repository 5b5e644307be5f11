"""Sign-in, refresh-token rotation and sign-out.

A login starts a refresh-token family. Each refresh marks the presented token used and issues a
child; presenting a used token again means it was copied, so the whole family (and the access
tokens issued with it) is revoked and the event logged as a WARNING. Failed logins slow down
and, after DOCMAN_LOGIN_MAX_FAILURES in a row, lock the account for DOCMAN_LOGIN_LOCKOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from datetime import UTC, datetime
from functools import lru_cache

import psycopg
from loguru import logger

from server.auth import tokens
from server.auth.authenticate import AuthState, auth_state, token_error
from server.auth.passwords import hash_password, verify_password
from server.auth.tokens import AccessClaims
from server.db import tokens as tokens_db
from server.db import users as users_db
from server.db.users import UserRow
from server.errors import AppError, RateLimited, Unauthorized
from server.runtime import Runtime
from shared.models.auth import TokenPair

FAILURE_DELAY = 0.2  # seconds per failure in a row, up to MAX_FAILURE_DELAY
MAX_FAILURE_DELAY = 1.0


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not a password anyone has")


async def _issue(conn: psycopg.AsyncConnection, rt: Runtime, state: AuthState, user: UserRow,
                 family: uuid.UUID, parent: int | None) -> TokenPair:
    cfg = rt.settings.auth
    claims = tokens.issue_access(user_id=str(user.id), role=user.role, email=user.email,
                                 ttl=cfg.access_ttl_seconds, family=str(family))
    refresh, refresh_hash = tokens.new_refresh_token()
    await tokens_db.insert_refresh(conn, token_hash=refresh_hash, user_id=user.id, family_id=family,
                                   parent_id=parent, access_jti=claims.jti, ttl_seconds=cfg.refresh_ttl_seconds)
    return TokenPair(access_token=tokens.encode(state.secret, claims), refresh_token=refresh,
                     expires_in=cfg.access_ttl_seconds)


def _locked(user: UserRow) -> AppError:
    wait = max(1, math.ceil((user.locked_until - datetime.now(UTC)).total_seconds())) if user.locked_until else 1
    return RateLimited(
        f"The account is locked after repeated failed sign-ins; try again in {wait} s"
        " or ask an administrator to unlock it.",
        code="account_locked", headers={"Retry-After": str(wait)}, detail={"retry_after": wait},
    )


def _bad_credentials() -> AppError:
    return Unauthorized("Incorrect email or password.", code="invalid_credentials",
                        headers={"WWW-Authenticate": 'Bearer realm="docman"'})


async def login(rt: Runtime, username: str, password: str, address: str) -> TokenPair:
    """Check the password and issue a token pair (see the module docstring for lockout)."""
    state = auth_state(rt)
    state.limiter.check_login(address)
    email = username.strip()
    async with rt.pool.connection() as conn:
        user = await users_db.by_email(conn, email)
    if user is None:
        await asyncio.to_thread(verify_password, _dummy_hash(), password)  # the same time as a wrong password
        logger.warning("token request refused for {} from {}: invalid credentials (no such account)", email, address)
        raise _bad_credentials()
    if user.locked_until is not None and user.locked_until > datetime.now(UTC):
        logger.warning("token request refused for {} from {}: account locked until {}", email, address,
                       user.locked_until.isoformat(timespec="seconds"))
        raise _locked(user)
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        cfg = rt.settings.auth
        async with rt.pool.connection() as conn:
            user = await users_db.record_failed_login(conn, user.id, cfg.max_failed_logins, cfg.lockout_seconds)
        if user.locked_until is not None and user.failed_logins >= cfg.max_failed_logins:
            logger.warning("account {} locked for {} s after {} failed logins (last from {})", email,
                           cfg.lockout_seconds, user.failed_logins, address)
            raise _locked(user)
        logger.warning("token request refused for {} from {}: invalid credentials ({} failed in a row)", email,
                       address, user.failed_logins)
        await asyncio.sleep(min(FAILURE_DELAY * user.failed_logins, MAX_FAILURE_DELAY))
        raise _bad_credentials()
    if user.disabled:
        logger.warning("token request refused for {} from {}: account disabled", email, address)
        raise token_error("account_disabled")
    async with rt.pool.connection() as conn:
        await users_db.record_login(conn, user.id)
        pair = await _issue(conn, rt, state, user, uuid.uuid4(), None)
    logger.info("issued tokens to {} ({}) from {}", email, user.role, address)
    return pair


async def refresh(rt: Runtime, token: str) -> TokenPair:
    """Rotate a refresh token; a reused one revokes its family. 401 with a precise code otherwise."""
    state = auth_state(rt)
    failure: tuple[str, str] | None = None
    pair: TokenPair | None = None
    revoked: list[str] = []
    async with rt.pool.connection() as conn:
        row = await tokens_db.by_hash_for_update(conn, tokens.hash_refresh(token))
        user = await users_db.by_id(conn, row.user_id) if row is not None else None
        if row is None or user is None:
            failure = ("token_invalid", "unknown refresh token")
        elif user.disabled:
            failure = ("account_disabled", "the account is disabled")
        elif row.revoked_at is not None:
            failure = ("token_revoked", "the refresh token was revoked")
        elif row.used_at is not None:
            revoked = await tokens_db.revoke_family(conn, row.family_id, rt.settings.auth.access_ttl_seconds)
            failure = ("token_revoked", "the refresh token was already used")
            logger.warning("refresh token reuse detected for {}: token family {} revoked ({} tokens); "
                           "the token may have been copied", user.email, row.family_id, len(revoked))
        elif row.expired:
            failure = ("token_expired", "the refresh token has expired")
        else:
            await tokens_db.mark_used(conn, row.id)
            pair = await _issue(conn, rt, state, user, row.family_id, row.id)
    if revoked:
        state.revoke_local(revoked, time.time() + rt.settings.auth.access_ttl_seconds)
    if failure is not None or pair is None:
        code, reason = failure or ("token_invalid", "unknown refresh token")
        logger.warning("invalid refresh token rejected ({}): {}", code, reason)
        raise _refresh_error(code)
    return pair


def _refresh_error(code: str) -> AppError:
    err = token_error(code)
    if code in ("token_invalid", "token_expired", "token_revoked"):
        err.message = {
            "token_invalid": "The refresh token is invalid; sign in again.",
            "token_expired": "The refresh token has expired; sign in again.",
            "token_revoked": "The refresh token has been revoked (signed out, or used twice); sign in again.",
        }[code]
    return err


async def logout(rt: Runtime, claims: AccessClaims | None, refresh_token: str | None) -> None:
    """Revoke the bearer token and its family, and the presented refresh token's family."""
    state = auth_state(rt)
    if claims is None and not refresh_token:
        raise token_error("token_missing")
    families: set[uuid.UUID] = set()
    revoked: list[str] = []
    async with rt.pool.connection() as conn:
        if claims is not None:
            await tokens_db.revoke_jti(conn, claims.jti, uuid.UUID(claims.sub), datetime.fromtimestamp(claims.exp, UTC))
            revoked.append(claims.jti)
            if claims.fam:
                families.add(uuid.UUID(claims.fam))
        if refresh_token:
            row = await tokens_db.by_hash_for_update(conn, tokens.hash_refresh(refresh_token))
            if row is not None:
                families.add(row.family_id)
        for family in families:
            revoked += await tokens_db.revoke_family(conn, family, rt.settings.auth.access_ttl_seconds)
    if claims is None and not families:
        logger.warning("invalid refresh token rejected (token_invalid): unknown refresh token on logout")
        raise _refresh_error("token_invalid")
    state.revoke_local(revoked, time.time() + rt.settings.auth.access_ttl_seconds)
    logger.info("signed out {} ({} token families revoked)", claims.email if claims else "a refresh token", len(families))
