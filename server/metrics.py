"""Prometheus metrics of the API process, defined once at import.

The per-request HTTP metrics live in `server.http_metrics`. Route labels are route templates
(`/api/v1/documents/{document_id:uuid}`), never raw paths, so cardinality stays bounded;
unmatched paths share the label `unmatched`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

SEARCH_DURATION = Histogram(
    "search_duration_seconds",
    "Search latency by mode.",
    ["mode"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
VECTOR_INDEX_SIZE = Gauge("vector_index_vectors", "Vectors in this process's FAISS index.")
VECTOR_INDEX_LOADED = Gauge("vector_index_loaded", "1 when the FAISS index is loaded and in step.")
VECTOR_INDEX_CONSISTENT = Gauge(
    "vector_index_consistent", "1 when this process's index holds exactly the stored vectors of ready documents."
)

# Gauges whose values come from a callback at scrape time (pool stats, queue depth, ...).
_callbacks: dict[str, Callable[[], Iterable[GaugeMetricFamily]]] = {}


class _CallbackCollector(Collector):
    def collect(self) -> Iterable[GaugeMetricFamily]:
        for cb in list(_callbacks.values()):
            try:
                yield from cb()
            except Exception:  # a broken callback must not break the scrape
                continue


REGISTRY.register(_CallbackCollector())


def register_callback(name: str, cb: Callable[[], Iterable[GaugeMetricFamily]]) -> None:
    """Install (or replace) a scrape-time callback under `name`."""
    _callbacks[name] = cb


def unregister_callback(name: str) -> None:
    _callbacks.pop(name, None)


def pool_metrics(get_stats: Callable[[], dict[str, int]]) -> Callable[[], Iterable[GaugeMetricFamily]]:
    """Scrape-time gauges from psycopg_pool's `get_stats()`."""

    def collect() -> Iterable[GaugeMetricFamily]:
        stats = get_stats()
        for key, help_text in (
            ("pool_size", "Connections currently managed by the pool."),
            ("pool_available", "Idle connections in the pool."),
            ("pool_max", "Most connections the pool may open."),
            ("requests_waiting", "Requests waiting for a connection."),
        ):
            yield GaugeMetricFamily(f"db_{key}", help_text, value=float(stats.get(key, 0)))
        yield GaugeMetricFamily(
            "db_connection_errors", "Failed connection attempts.", value=float(stats.get("connections_errors", 0))
        )
        yield GaugeMetricFamily(
            "db_requests_timeouts", "Connection requests that timed out.", value=float(stats.get("requests_errors", 0))
        )

    return collect


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
