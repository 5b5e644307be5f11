"""The per-request HTTP metrics: `http_requests_total`, `http_request_duration_seconds`,
`http_requests_in_flight`.

They are counted in plain dicts and lists and turned into Prometheus families only when scraped:
prometheus_client's own Counter/Histogram take a lock and validate the value on every call, which
was a tenth of the cost of answering a liveness probe. Only the event loop's thread writes here
(the outermost middleware); a scrape reads a snapshot, so a request counted mid-scrape shows up
in the next one.

Route labels are route templates, never raw paths; methods outside HTTP's standard set share the
label OTHER, so a client cannot grow the label set.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LE = (*(repr(b) for b in BUCKETS), "+Inf")  # the `le` labels, as prometheus_client writes them
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_counts: dict[tuple[str, str, int], int] = {}
# (method, route) -> per-bucket counts (not cumulative; the last is +Inf), then the sum of seconds
_durations: dict[tuple[str, str], list[float]] = {}
_in_flight = 0


def request_started() -> None:
    global _in_flight
    _in_flight += 1


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration (and end its in-flight count)."""
    global _in_flight
    _in_flight -= 1
    if method not in _METHODS:
        method = "OTHER"
    key = (method, route, status)
    _counts[key] = _counts.get(key, 0) + 1
    cells = _durations.get((method, route))
    if cells is None:
        cells = _durations[(method, route)] = [0.0] * (len(BUCKETS) + 2)
    cells[bisect_left(BUCKETS, seconds)] += 1  # a bucket's bound is inclusive: le="0.005" holds 0.005
    cells[-1] += seconds


class _HttpCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        requests = CounterMetricFamily("http_requests_total", "HTTP requests answered.",
                                       labels=["method", "route", "status"])
        for (method, route, status), n in list(_counts.items()):
            requests.add_metric([method, route, str(status)], n)
        durations = HistogramMetricFamily("http_request_duration_seconds",
                                          "Time from request to the end of the response.",
                                          labels=["method", "route"])
        for (method, route), cells in list(_durations.items()):
            snapshot = list(cells)
            running, buckets = 0.0, []
            for le, n in zip(_LE, snapshot[:-1], strict=True):
                running += n
                buckets.append((le, running))
            durations.add_metric([method, route], buckets, sum_value=snapshot[-1])
        in_flight = GaugeMetricFamily("http_requests_in_flight", "Requests being served.", value=_in_flight)
        return [requests, durations, in_flight]


REGISTRY.register(_HttpCollector())
