"""Health endpoint bodies, shaped as the operators' guide shows them."""

from __future__ import annotations

import msgspec


class Liveness(msgspec.Struct, kw_only=True):
    status: str = "ok"


class Readiness(msgspec.Struct, kw_only=True):
    status: str  # "ready" | "not_ready"
    checks: dict[str, str]  # check name -> "ok" or the reason it failed
    reasons: list[str] = []


class ComponentDetail(msgspec.Struct, kw_only=True):
    status: str
    detail: str = ""
    latency_ms: float | None = None


class DependencyHealth(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: str  # the worst component status
    version: str
    timestamp: str
    components: dict[str, str]  # name -> "ok" | "degraded" | "error" | "timeout" | "not_configured" ...
    details: dict[str, ComponentDetail] = {}  # operators only; omitted when empty
