"""The auth startup step: the signing secret, the rate limiter, and pruning of old token rows."""

from __future__ import annotations

import asyncio

from loguru import logger

from server.auth import secret
from server.auth.authenticate import AuthState
from server.auth.ratelimit import RateLimiter
from server.db import tokens as tokens_db
from server.runtime import Runtime

PRUNE_INTERVAL = 3600.0


async def _prune(rt: Runtime) -> None:
    async with rt.pool.connection() as conn:
        removed = await tokens_db.prune(conn)
    if removed:
        logger.info("pruned {} expired token rows", removed)


async def _prune_forever(rt: Runtime) -> None:
    while True:
        await asyncio.sleep(PRUNE_INTERVAL)
        try:
            await _prune(rt)
        except Exception as exc:  # the next round will try again
            logger.warning("pruning expired tokens failed: {}", exc)


async def start_auth(rt: Runtime) -> None:
    async with rt.pool.connection() as conn:
        signing_secret = await secret.resolve(conn, rt.settings)
    rt.extras["auth"] = AuthState(secret=signing_secret, limiter=RateLimiter(rt.settings.rate_limit))
    await _prune(rt)
    rt.spawn(_prune_forever(rt), "token-pruning")
