"""Prometheus metrics of chat answers (the LLM's own latency, TTFT, tokens and errors are in
server.rag.llm_metrics). Label values are closed sets: `mode` is llm | extractive; `outcome` is
one of OUTCOMES."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MODES = ("llm", "extractive")
OUTCOMES = ("ok", "cancelled", "llm_unavailable", "llm_timeout", "context_too_long", "llm_auth",
            "llm_bad_request", "index_loading", "error")

REQUESTS = Counter(
    "chat_requests_total",
    "Questions answered (chat and OpenAI-compatible endpoints), by answer mode and outcome.",
    ["mode", "outcome"],
)
TIME_TO_FIRST_TOKEN = Histogram(
    "chat_time_to_first_token_seconds",
    "From receiving a question to sending the first answer token, server side (rewriting, retrieval "
    "and the LLM's own wait included).",
    ["mode"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60),
)


def outcome_label(code: str) -> str:
    return code if code in OUTCOMES else "error"


for _mode in MODES:  # export zeros so rate() and alerts work before the first question
    for _outcome in OUTCOMES:
        REQUESTS.labels(_mode, _outcome)
    TIME_TO_FIRST_TOKEN.labels(_mode)
