"""Authentication and user-administration wire types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Role = Literal["user", "operator", "admin"]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]


class TokenRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST /api/v1/auth/token`: `username` is the account's email."""

    username: Annotated[str, msgspec.Meta(max_length=320)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class RefreshRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(max_length=512)]


class LogoutRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Revokes this refresh token's family; the bearer token (if sent) is revoked too."""

    refresh_token: Annotated[str, msgspec.Meta(max_length=512)] | None = None


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds the access token is valid


class User(msgspec.Struct, kw_only=True):
    id: str
    email: str
    role: str
    disabled: bool = False
    locked_until: datetime | None = None
    created_at: datetime | None = None


class UserList(msgspec.Struct, kw_only=True):
    items: list[User]
    total: int


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new account; without `password` one is generated and returned once."""

    email: Email
    role: Role = "user"
    password: Password | None = None


class PasswordReset(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Without `password` one is generated and returned once."""

    password: Password | None = None


class RoleChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Role


class UserWithPassword(msgspec.Struct, kw_only=True):
    """A created or reset account; `password` only when the server generated it."""

    user: User
    password: str | None = None
