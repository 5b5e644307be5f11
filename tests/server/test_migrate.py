"""Migrations: applied once, recorded, safe against processes starting together."""

from __future__ import annotations

import asyncio

import psycopg

from server.db import migrate


async def test_concurrent_starts_apply_each_migration_once(db_url: str) -> None:
    results = await asyncio.gather(*(migrate.migrate(db_url) for _ in range(4)))
    applied = [v for r in results for v in r]
    expected = [m.version for m in migrate.available()]
    assert sorted(applied) == expected  # every version applied exactly once, by one of them
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == expected
    assert await migrate.migrate(db_url) == []


async def test_guide_sql_runs_verbatim(db_url: str) -> None:
    await migrate.migrate(db_url)
    doc = "00000000-0000-0000-0000-000000000000"
    with psycopg.connect(db_url) as conn:
        assert conn.execute(f"SELECT id, title, status, upload_date FROM documents WHERE id = '{doc}';").fetchall() == []
        assert conn.execute(f"SELECT COUNT(*) FROM document_chunks WHERE document_id = '{doc}';").fetchone() == (0,)
