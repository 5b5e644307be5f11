"""The token-signing secret: DOCMAN_JWT_SECRET, or one generated once and shared.

Without DOCMAN_JWT_SECRET the secret lives in the database (`system_state`, key `jwt_secret`), so
every replica started against the same database signs and verifies with the same secret. The
first process to start stores it (an existing `<data_dir>/jwt-secret` is adopted, else a new one
is generated); every later process reads it. A copy is kept in `<data_dir>/jwt-secret` (mode
0600) for the operator. Rotating it (delete the row and the file, restart every replica) signs
everybody out.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg
from loguru import logger

from server.settings import Settings

KEY = "jwt_secret"
FILENAME = "jwt-secret"


def _read_file(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text if len(text) >= 32 else None


def _write_file(path: Path, secret: str) -> None:
    """Write atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


async def resolve(conn: psycopg.AsyncConnection, settings: Settings) -> str:
    """The secret to sign with (see the module docstring)."""
    if settings.auth.jwt_secret:
        return settings.auth.jwt_secret
    path = settings.data_dir / FILENAME
    local = _read_file(path)
    candidate = local or secrets.token_urlsafe(48)
    await conn.execute(
        "INSERT INTO system_state (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING", (KEY, candidate)
    )
    cur = await conn.execute("SELECT value FROM system_state WHERE key = %s", (KEY,))
    row = await cur.fetchone()
    assert row is not None
    shared: str = row[0]
    if local != shared:
        if local is not None:
            logger.warning("{} differs from the secret shared through the database; using the database's", path)
        try:
            _write_file(path, shared)
        except OSError as exc:  # a read-only data directory: the database copy is the one that counts
            logger.warning("could not keep a copy of the token secret in {}: {}", path, exc)
    return shared
