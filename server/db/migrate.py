"""Numbered SQL migrations (`migrations/NNNN_name.sql`), applied in one transaction each under an
advisory lock and recorded in `schema_version`. A second process starting at the same time waits
for the lock, then finds nothing left to do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from loguru import logger

_LOCK_KEY = 727_274_001  # pg_advisory_xact_lock key shared by every docman process
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    out = []
    for entry in resources.files("server.db.migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    out.sort(key=lambda mig: mig.version)
    return out


def latest_version() -> int:
    migs = available()
    return migs[-1].version if migs else 0


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


async def migrate(conninfo: str) -> list[int]:
    """Apply pending migrations; return the versions applied by this call."""
    applied: list[int] = []
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=False) as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            await conn.execute(_CREATE_TABLE)
            cur = await conn.execute("SELECT version FROM schema_version")
            done = {row[0] for row in await cur.fetchall()}
            for mig in available():
                if mig.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(mig.sql)  # type: ignore[arg-type]
                    await conn.execute(
                        "INSERT INTO schema_version (version, name) VALUES (%s, %s)", (mig.version, mig.name)
                    )
                applied.append(mig.version)
                logger.info("applied migration {:04d}_{}", mig.version, mig.name)
    return applied


async def current_version(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
    row = await cur.fetchone()
    return int(row[0]) if row else 0
