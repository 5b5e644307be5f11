"""In-process fakes of external services, for the test suite (no network, stdlib only)."""

from tests.fakes.openai_server import (
    Behaviour,
    FakeOpenAI,
    Recorded,
    approx_tokens,
    auth_error,
    context_too_long,
    hang,
    ok,
    rate_limit,
    server_error,
)

__all__ = [
    "Behaviour",
    "FakeOpenAI",
    "Recorded",
    "approx_tokens",
    "auth_error",
    "context_too_long",
    "hang",
    "ok",
    "rate_limit",
    "server_error",
]
