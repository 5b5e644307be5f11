"""A rolling summary of this process's metrics for the operator console: rates and percentiles
computed from the Prometheus registry's own counters and histograms, sampled every few seconds."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from prometheus_client import REGISTRY

from server.logs import utcnow_iso
from shared.models.ops import MetricsSummary

SAMPLE_EVERY = 2.0
WINDOW = 60.0


@dataclass
class Snapshot:
    at: float
    requests: float = 0.0
    errors: float = 0.0
    histograms: dict[str, dict[float, float]] = field(default_factory=dict)
    llm_errors: float = 0.0
    queue_depth: float = 0.0
    vectors: float = 0.0


_HISTOGRAMS = {
    "http": "http_request_duration_seconds",
    "search": "search_duration_seconds",
    "llm": "llm_request_duration_seconds",
}


def take() -> Snapshot:
    snap = Snapshot(at=time.monotonic())
    buckets: dict[str, dict[float, float]] = {k: {} for k in _HISTOGRAMS}
    wanted = {v: k for k, v in _HISTOGRAMS.items()}
    for family in REGISTRY.collect():
        for s in family.samples:
            if s.name == "http_requests_total":
                if s.labels.get("route") in ("/metrics", "/api/v1/health/live", "/api/v1/health/ready"):
                    continue
                snap.requests += s.value
                if s.labels.get("status", "").startswith("5"):
                    snap.errors += s.value
            elif s.name.endswith("_bucket") and s.name[: -len("_bucket")] in wanted:
                key = wanted[s.name[: -len("_bucket")]]
                le = float(s.labels["le"])
                buckets[key][le] = buckets[key].get(le, 0.0) + s.value
            elif s.name == "llm_errors_total":
                snap.llm_errors += s.value
            elif s.name == "ingest_queue_depth":
                snap.queue_depth += s.value
            elif s.name == "vector_index_vectors":
                snap.vectors = s.value
    snap.histograms = buckets
    return snap


def quantile(q: float, old: dict[float, float], new: dict[float, float]) -> float | None:
    """The q-quantile in ms of observations between two cumulative bucket snapshots."""
    edges = sorted(new)
    counts = [new[e] - old.get(e, 0.0) for e in edges]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return None
    target, prev_edge, prev_count = q * total, 0.0, 0.0
    for edge, count in zip(edges, counts, strict=True):
        if count >= target:
            if edge == float("inf"):
                return prev_edge * 1000
            span = count - prev_count
            frac = (target - prev_count) / span if span > 0 else 1.0
            return (prev_edge + (edge - prev_edge) * frac) * 1000
        prev_edge, prev_count = edge, count
    return None


class Sampler:
    def __init__(self) -> None:
        self.snapshots: deque[Snapshot] = deque(maxlen=int(WINDOW / SAMPLE_EVERY) + 2)

    async def run(self) -> None:
        while True:
            self.snapshots.append(take())
            await asyncio.sleep(SAMPLE_EVERY)

    def summary(self) -> MetricsSummary:
        now = take()
        old = next((s for s in self.snapshots if now.at - s.at <= WINDOW), None) or Snapshot(at=now.at - 1e-9)
        elapsed = max(now.at - old.at, 1e-9)
        requests = now.requests - old.requests

        def q(name: str, p: float) -> float | None:
            v = quantile(p, old.histograms.get(name, {}), now.histograms[name])
            return round(v, 2) if v is not None else None

        return MetricsSummary(
            timestamp=utcnow_iso(),
            window_seconds=round(elapsed, 1),
            request_rate=round(requests / elapsed, 3),
            error_rate=round((now.errors - old.errors) / requests, 4) if requests > 0 else 0.0,
            latency_p50_ms=q("http", 0.5),
            latency_p95_ms=q("http", 0.95),
            search_p50_ms=q("search", 0.5),
            search_p95_ms=q("search", 0.95),
            llm_p50_ms=q("llm", 0.5),
            llm_errors=now.llm_errors - old.llm_errors,
            queue_depth=int(now.queue_depth),
            vectors=int(now.vectors),
        )
