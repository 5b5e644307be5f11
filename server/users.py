"""User administration, shared by the admin API and `docman users`.

Functions take an open connection (one transaction) so the CLI can use them without a running
server. Changes that end sessions (disable, password reset) revoke the user's refresh tokens and
access tokens in the database; the API then drops its in-process cache so they apply at once.
"""

from __future__ import annotations

import asyncio
import re
from uuid import UUID

import psycopg

from server.auth.caller import ROLES
from server.auth.passwords import generate_password, hash_password
from server.db import tokens as tokens_db
from server.db import users as users_db
from server.db.users import UserRow
from server.errors import BadRequest, Conflict, NotFound
from shared.models.auth import User, UserList, UserWithPassword

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_ADMIN_LOCK = 727_274_002  # shared with server.auth.bootstrap: one admin change at a time
MIN_PASSWORD = 8


def to_wire(row: UserRow) -> User:
    return User(id=str(row.id), email=row.email, role=row.role, disabled=row.disabled,
                locked_until=row.locked_until, created_at=row.created_at)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"The password must have at least {MIN_PASSWORD} characters.", code="weak_password")


async def _get(conn: psycopg.AsyncConnection, user_id: UUID | str) -> UserRow:
    row = await users_db.by_id(conn, user_id)
    if row is None:
        raise NotFound(f"User {user_id} not found.", code="user_not_found")
    return row


async def find(conn: psycopg.AsyncConnection, ident: str) -> UserRow:
    """A user by email or id (for the CLI)."""
    row = await users_db.by_email(conn, ident)
    if row is None:
        try:
            row = await users_db.by_id(conn, UUID(ident))
        except ValueError:
            row = None
    if row is None:
        raise NotFound(f"No user {ident!r}.", code="user_not_found")
    return row


async def list_users(conn: psycopg.AsyncConnection) -> UserList:
    rows = await users_db.list_all(conn)
    return UserList(items=[to_wire(r) for r in rows], total=len(rows))


async def get_user(conn: psycopg.AsyncConnection, user_id: UUID) -> User:
    return to_wire(await _get(conn, user_id))


async def create_user(conn: psycopg.AsyncConnection, email: str, role: str, password: str | None) -> UserWithPassword:
    email = email.strip()
    if not _EMAIL.match(email):
        raise BadRequest(f"{email!r} is not an email address.", code="invalid_email")
    if role not in ROLES:
        raise BadRequest(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.", code="invalid_role")
    if password is not None:
        _check_password(password)
    if await users_db.by_email(conn, email) is not None:
        raise Conflict(f"A user {email} already exists.", code="user_exists")
    chosen = password or generate_password()
    try:
        async with conn.transaction():
            row = await users_db.create(conn, email, await asyncio.to_thread(hash_password, chosen), role)
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"A user {email} already exists.", code="user_exists") from None
    return UserWithPassword(user=to_wire(row), password=None if password else chosen)


async def _keep_an_admin(conn: psycopg.AsyncConnection, target: UserRow, actor: UUID | None, what: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADMIN_LOCK,))
    if actor is not None and target.id == actor:
        raise Conflict(f"You cannot {what} your own account; ask another admin.", code="self_change")
    if target.role == "admin" and not target.disabled and await users_db.count_active_admins(conn) <= 1:
        raise Conflict(f"{target.email} is the last active admin; make another admin first.", code="last_admin")


async def set_disabled(conn: psycopg.AsyncConnection, user_id: UUID, disabled: bool, *, actor: UUID | None,
                       access_ttl: int) -> tuple[User, list[str]]:
    """Disable (ending every session) or enable (also unlocking) an account; (user, revoked jtis)."""
    target = await _get(conn, user_id)
    revoked: list[str] = []
    if disabled:
        await _keep_an_admin(conn, target, actor, "disable")
        row = await users_db.update(conn, user_id, disabled=True)
        revoked = await tokens_db.revoke_user(conn, user_id, access_ttl)
    else:
        row = await users_db.update(conn, user_id, disabled=False, failed_logins=0, locked_until=None)
    assert row is not None
    return to_wire(row), revoked


async def reset_password(conn: psycopg.AsyncConnection, user_id: UUID, password: str | None, *,
                         access_ttl: int) -> tuple[UserWithPassword, list[str]]:
    """Set a new password (generated when None), unlock, end every session."""
    await _get(conn, user_id)
    if password is not None:
        _check_password(password)
    chosen = password or generate_password()
    row = await users_db.update(conn, user_id, password_hash=await asyncio.to_thread(hash_password, chosen),
                                failed_logins=0, locked_until=None)
    assert row is not None
    revoked = await tokens_db.revoke_user(conn, user_id, access_ttl)
    return UserWithPassword(user=to_wire(row), password=None if password else chosen), revoked


async def set_role(conn: psycopg.AsyncConnection, user_id: UUID, role: str, *, actor: UUID | None) -> User:
    if role not in ROLES:
        raise BadRequest(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.", code="invalid_role")
    target = await _get(conn, user_id)
    if target.role == "admin" and role != "admin":
        await _keep_an_admin(conn, target, actor, "demote")
    row = await users_db.update(conn, user_id, role=role)
    assert row is not None
    return to_wire(row)
