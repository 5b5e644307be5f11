"""The one error body every API error is answered with."""

from __future__ import annotations

import msgspec


class ErrorBody(msgspec.Struct, kw_only=True):
    code: str
    message: str
    detail: dict[str, object] | list[object] | str | None = None
    correlation_id: str | None = None
