"""SQL for `users`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row


class UserRow(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    password_hash: str
    role: str
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime


_COLUMNS = "id, email, password_hash, role, disabled, failed_logins, locked_until, created_at"


async def create(conn: psycopg.AsyncConnection, email: str, password_hash: str, role: str) -> UserRow:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"INSERT INTO users (email, password_hash, role) VALUES (%s, %s, %s) RETURNING {_COLUMNS}",
        (email, password_hash, role),
    )
    row = await cur.fetchone()
    assert row is not None
    return msgspec.convert(row, UserRow)


async def by_email(conn: psycopg.AsyncConnection, email: str) -> UserRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower(%s)", (email,))
    row = await cur.fetchone()
    return msgspec.convert(row, UserRow) if row else None


async def by_id(conn: psycopg.AsyncConnection, user_id: UUID | str) -> UserRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM users WHERE id = %s", (user_id,))
    row = await cur.fetchone()
    return msgspec.convert(row, UserRow) if row else None


async def first_admin(conn: psycopg.AsyncConnection) -> UserRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM users WHERE role = 'admin' ORDER BY created_at LIMIT 1")
    row = await cur.fetchone()
    return msgspec.convert(row, UserRow) if row else None
