"""Prometheus metrics of ingestion (shared by API processes with embedded workers and `docman worker`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

STAGE_DURATION = Histogram(
    "ingest_stage_duration_seconds",
    "Time spent in each ingestion stage.",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
PAGES = Counter("ingest_pages_processed_total", "Pages extracted.")
CHUNKS = Counter("ingest_chunks_processed_total", "Chunks produced.")
EMBED_BATCH = Histogram(
    "embedding_batch_duration_seconds",
    "Time to embed one batch of chunks.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DOCUMENTS_FINISHED = Counter("ingest_documents_total", "Documents that reached a terminal state.", ["outcome"])
JOB_ATTEMPTS = Counter("ingest_job_attempts_total", "Job attempts started, by outcome.", ["outcome"])


@contextmanager
def stage_timer(stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        STAGE_DURATION.labels(stage).observe(time.perf_counter() - start)
