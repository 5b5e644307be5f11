"""Prometheus metrics of the LLM client, defined once at import (default registry).

Label values are closed sets: `outcome` is "ok", "cancelled", "error" or an `LLMError.code`;
`kind` of errors is one of `ERROR_KINDS`. Errors are counted per failed attempt, so a 429 that
is retried and then succeeds still shows in `llm_errors_total{kind="rate_limited"}`.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ERROR_KINDS = ("rate_limited", "server_error", "timeout", "context_too_long", "auth", "connection", "bad_request")

REQUEST_DURATION = Histogram(
    "llm_request_duration_seconds",
    "Time from asking the LLM to the end of its answer (retries included), by outcome.",
    ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
TIME_TO_FIRST_TOKEN = Histogram(
    "llm_time_to_first_token_seconds",
    "Time from asking the LLM to the first streamed token (retries included).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60),
)
TOKENS = Counter(
    "llm_tokens_total",
    "Tokens used, as reported by the provider (estimated when it reports none).",
    ["kind"],  # prompt | completion
)
ERRORS = Counter("llm_errors_total", "Failed LLM attempts by kind.", ["kind"])
RETRIES = Counter("llm_retries_total", "LLM attempts retried after a rate limit, server or connection error.")

for _kind in ERROR_KINDS:  # export zeros, so rate() and alerts work before the first error
    ERRORS.labels(_kind)
for _kind in ("prompt", "completion"):
    TOKENS.labels(_kind)
