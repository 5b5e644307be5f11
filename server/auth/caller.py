"""Who is asking: the identity every document query filters by."""

from __future__ import annotations

from uuid import UUID

import msgspec

ROLES = ("user", "operator", "admin")


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    role: str

    @property
    def is_operator(self) -> bool:
        return self.role in ("operator", "admin")
