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


async def list_all(conn: psycopg.AsyncConnection) -> list[UserRow]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM users ORDER BY created_at, email")
    return [msgspec.convert(r, UserRow) for r in await cur.fetchall()]


async def update(conn: psycopg.AsyncConnection, user_id: UUID | str, **fields: object) -> UserRow | None:
    """Set columns by name (names come from our code, never from input); the updated row."""
    allowed = {"password_hash", "role", "disabled", "failed_logins", "locked_until"}
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"not updatable: {bad}")
    sets = ", ".join(f"{k} = %({k})s" for k in fields)
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"UPDATE users SET {sets}, updated_at = now() WHERE id = %(id)s RETURNING {_COLUMNS}", {**fields, "id": user_id}
    )
    row = await cur.fetchone()
    return msgspec.convert(row, UserRow) if row else None


async def count_active_admins(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def record_failed_login(conn: psycopg.AsyncConnection, user_id: UUID, threshold: int, lock_seconds: int) -> UserRow:
    """Count a failure (restarting after an expired lock); lock the account at `threshold`."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"""
        UPDATE users SET
            failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= now() THEN 1
                                 ELSE failed_logins + 1 END,
            locked_until = CASE
                WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= now() THEN 1
                           ELSE failed_logins + 1 END) >= %(threshold)s
                    THEN now() + make_interval(secs => %(lock)s)
                WHEN locked_until IS NOT NULL AND locked_until <= now() THEN NULL
                ELSE locked_until END,
            updated_at = now()
        WHERE id = %(id)s RETURNING {_COLUMNS}
        """,
        {"id": user_id, "threshold": threshold, "lock": lock_seconds},
    )
    row = await cur.fetchone()
    assert row is not None
    return msgspec.convert(row, UserRow)


async def record_login(conn: psycopg.AsyncConnection, user_id: UUID) -> None:
    await conn.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = %s AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
        (user_id,),
    )
