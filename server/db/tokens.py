"""SQL for `refresh_tokens` and `revoked_tokens`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row


class RefreshRow(msgspec.Struct, kw_only=True):
    id: int
    user_id: UUID
    family_id: UUID
    parent_id: int | None
    access_jti: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    expired: bool


_COLUMNS = "id, user_id, family_id, parent_id, access_jti, expires_at, used_at, revoked_at, expires_at <= now() AS expired"


async def insert_refresh(
    conn: psycopg.AsyncConnection,
    *,
    token_hash: str,
    user_id: UUID,
    family_id: UUID,
    parent_id: int | None,
    access_jti: str,
    ttl_seconds: int,
) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, user_id, family_id, parent_id, access_jti, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
        (token_hash, user_id, family_id, parent_id, access_jti, ttl_seconds),
    )


async def by_hash_for_update(conn: psycopg.AsyncConnection, token_hash: str) -> RefreshRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLUMNS} FROM refresh_tokens WHERE token_hash = %s FOR UPDATE", (token_hash,))
    row = await cur.fetchone()
    return msgspec.convert(row, RefreshRow) if row else None


async def mark_used(conn: psycopg.AsyncConnection, token_id: int) -> None:
    await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE id = %s", (token_id,))


async def revoke_family(conn: psycopg.AsyncConnection, family_id: UUID, access_ttl_seconds: int) -> list[str]:
    """Revoke every token of the family and the access tokens issued with them; their jtis."""
    return await _revoke(conn, "family_id = %(key)s", family_id, access_ttl_seconds)


async def revoke_user(conn: psycopg.AsyncConnection, user_id: UUID, access_ttl_seconds: int) -> list[str]:
    """Revoke every session of a user (disabled account, password reset); their access jtis."""
    return await _revoke(conn, "user_id = %(key)s", user_id, access_ttl_seconds)


async def _revoke(conn: psycopg.AsyncConnection, where: str, key: UUID, ttl: int) -> list[str]:
    """Revoke the matching refresh tokens; record as revoked the access tokens still alive
    (issued less than `ttl` seconds ago) and return their jtis."""
    cur = await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now())"
        f" WHERE {where} AND (expires_at > now() OR created_at > now() - make_interval(secs => %(ttl)s))"
        " RETURNING access_jti, user_id, created_at > now() - make_interval(secs => %(ttl)s)",
        {"key": key, "ttl": ttl},
    )
    alive = [(r[0], r[1]) for r in await cur.fetchall() if r[2]]
    await _revoke_jtis(conn, alive, ttl)
    return [jti for jti, _ in alive]


async def _revoke_jtis(conn: psycopg.AsyncConnection, items: list[tuple[str, UUID]], ttl_seconds: int) -> None:
    """Record access jtis as revoked until they would have expired anyway (an upper bound: ttl from now)."""
    if not items:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (%s, %s, now() + make_interval(secs => %s))"
            " ON CONFLICT (jti) DO NOTHING",
            [(jti, uid, ttl_seconds) for jti, uid in items],
        )


async def revoke_jti(conn: psycopg.AsyncConnection, jti: str, user_id: UUID, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (%s, %s, %s) ON CONFLICT (jti) DO NOTHING",
        (jti, user_id, expires_at),
    )


async def prune(conn: psycopg.AsyncConnection) -> int:
    """Drop expired revocations and refresh tokens expired for a day; rows removed."""
    a = await conn.execute("DELETE FROM revoked_tokens WHERE expires_at < now()")
    b = await conn.execute("DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'")
    return (a.rowcount or 0) + (b.rowcount or 0)


async def session_state(conn: psycopg.AsyncConnection, user_id: UUID | str, jti: str) -> tuple[str, str, bool, bool] | None:
    """(email, role, disabled, jti revoked) for an access token's subject; None if no such user."""
    cur = await conn.execute(
        "SELECT u.email, u.role, u.disabled, EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = %s)"
        " FROM users u WHERE u.id = %s",
        (jti, user_id),
    )
    row = await cur.fetchone()
    return (row[0], row[1], bool(row[2]), bool(row[3])) if row else None
