"""In-process token buckets: per user and per client address, per replica.

Each limit of N per minute is a bucket of N tokens refilled evenly (N/60 per second), so a burst
of N passes and the sustained rate is N per minute. With R replicas behind a load balancer the
effective limit is up to R times higher. The client address is the ASGI client (uvicorn sets it
from X-Forwarded-For only for proxies listed in FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from loguru import logger

from server.errors import RateLimited
from server.settings import RateLimitSettings
from shared import routes

_MAX_BUCKETS = 50_000


@dataclass
class TokenBucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token: 0.0 if granted, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def bucket_for(method: str, path_template: str) -> str | None:
    """Which limit a route falls under: upload, search, chat, or None (not limited)."""
    if method != "POST":
        return None
    if path_template == routes.DOCUMENTS:
        return "upload"
    if path_template == routes.SEARCH:
        return "search"
    if path_template.startswith((f"{routes.API}/chat/", "/v1/chat/")):
        return "chat"
    return None


class RateLimiter:
    def __init__(self, cfg: RateLimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def _hit(self, name: str, key: str, per_minute: int) -> float:
        now = self.clock()
        bucket = self._buckets.get((name, key))
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._prune(now)
            bucket = self._buckets[(name, key)] = TokenBucket(per_minute, per_minute / 60.0, per_minute, now)
        return bucket.take(now)

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled completely (they behave exactly like new ones)."""
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * b.rate >= b.capacity]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= _MAX_BUCKETS:
            self._buckets.clear()

    def _check(self, name: str, key: str, per_minute: int, setting: str, who: str) -> None:
        if not self.cfg.enabled:
            return
        wait = self._hit(name, key, per_minute)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            logger.info("rate limit: {} over {} per minute for {}; retry in {}s", name, per_minute, who, retry)
            raise RateLimited(
                f"Too many requests: the limit is {per_minute} per minute ({setting}); retry in {retry} s.",
                code="rate_limited",
                headers={"Retry-After": str(retry)},
                detail={"limit_per_minute": per_minute, "setting": setting, "retry_after": retry},
            )

    def check_login(self, address: str) -> None:
        self._check("login", address, self.cfg.login_per_address, "DOCMAN_RATE_LIMIT_LOGIN", f"address {address}")

    def check_route(self, bucket: str, user_id: str, address: str) -> None:
        per_user = {"upload": (self.cfg.upload_per_user, "DOCMAN_RATE_LIMIT_UPLOAD"),
                    "search": (self.cfg.search_per_user, "DOCMAN_RATE_LIMIT_SEARCH"),
                    "chat": (self.cfg.chat_per_user, "DOCMAN_RATE_LIMIT_CHAT")}[bucket]
        self._check("address", address, self.cfg.per_address, "DOCMAN_RATE_LIMIT_ADDRESS", f"address {address}")
        self._check(bucket, user_id, per_user[0], per_user[1], f"user {user_id}")
