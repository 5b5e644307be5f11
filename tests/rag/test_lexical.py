"""Full-text search: the BM25 statistics kept by triggers (migration 0004) stay exact through every
way chunks are written, and `search.lexical` ranks as exact BM25 computed from the chunks."""

from __future__ import annotations

import math
import uuid
from typing import Any

import psycopg
import pytest

from server.db import migrate
from server.db import search
from server.errors import ServiceUnavailable
from tests.chat.helpers import upload_text
from tests.conftest import Served, wait_for_status

CORPUS = [
    "Aspirin lowers the risk of heart attack in adults with diabetes.",
    "Aspirin and ibuprofen are common pain relievers; aspirin thins the blood.",
    "The heart pumps blood through the body; the heart rate rises with exercise.",
    "Regular exercise lowers blood pressure in most adults.",
    "Diabetes raises the risk of kidney disease and heart disease.",
    "Metformin is the first treatment for type 2 diabetes in adults.",
    "Kidney disease is often found late, after years without symptoms.",
    "Statins lower cholesterol and the risk of stroke.",
    "A stroke happens when blood flow to the brain stops.",
    "Sleep apnea is linked to high blood pressure and stroke.",
    "Ibuprofen can harm the kidney when taken for years.",
    "The brain uses a fifth of the body's energy.",
]


async def exact_stats(conn: psycopg.AsyncConnection) -> tuple[dict[str, int], tuple[int, int]]:
    cur = await conn.execute(
        "SELECT u.lexeme, count(*) FROM document_chunks c, unnest(tsvector_to_array(c.tsv)) u(lexeme) GROUP BY 1")
    df = {r[0]: int(r[1]) for r in await cur.fetchall()}
    cur = await conn.execute("SELECT count(*), coalesce(sum(token_count), 0) FROM document_chunks")
    row = await cur.fetchone()
    assert row is not None
    return df, (int(row[0]), int(row[1]))


async def kept_stats(conn: psycopg.AsyncConnection) -> tuple[dict[str, int], tuple[int, int]]:
    cur = await conn.execute("SELECT lexeme, df FROM lexeme_stats")
    df = {r[0]: int(r[1]) for r in await cur.fetchall()}
    cur = await conn.execute("SELECT chunks, tokens FROM chunk_stats")
    row = await cur.fetchone()
    assert row is not None
    return df, (int(row[0]), int(row[1]))


async def assert_stats_exact(conn: psycopg.AsyncConnection) -> None:
    assert await kept_stats(conn) == await exact_stats(conn)


async def add_user(conn: psycopg.AsyncConnection, email: str) -> uuid.UUID:
    cur = await conn.execute("INSERT INTO users (email, password_hash, role) VALUES (%s, 'x', 'user') RETURNING id",
                             (email,))
    row = await cur.fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


async def add_document(conn: psycopg.AsyncConnection, owner: uuid.UUID, texts: list[str],
                       status: str = "ready") -> tuple[str, list[int]]:
    """A document and its chunks, inserted one statement per chunk as ingestion does."""
    doc = uuid.uuid4()
    await conn.execute(
        "INSERT INTO documents (id, owner, title, filename, content_type, size_bytes, sha256, storage_key, status)"
        " VALUES (%s, %s, 't', 'f.txt', 'text/plain', 1, %s, 'k', %s)", (doc, owner, doc.hex, status))
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO document_chunks (document_id, ordinal, page_start, page_end, text, token_count)"
            " VALUES (%s, %s, 1, 1, %s, %s)",
            [(doc, i, t, len(t.split())) for i, t in enumerate(texts)])
    cur = await conn.execute("SELECT id FROM document_chunks WHERE document_id = %s ORDER BY ordinal", (doc,))
    return str(doc), [int(r[0]) for r in await cur.fetchall()]


@pytest.fixture
async def conn(db_url: str) -> Any:
    await migrate.migrate(db_url)
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as c:
        yield c


async def test_stats_follow_inserts_deletes_updates_and_truncate(conn: psycopg.AsyncConnection) -> None:
    owner = await add_user(conn, "a@example.com")
    await assert_stats_exact(conn)  # empty
    doc_a, ids_a = await add_document(conn, owner, CORPUS[:6])
    doc_b, _ = await add_document(conn, owner, CORPUS[6:])
    await assert_stats_exact(conn)
    kept, (chunks, _) = await kept_stats(conn)
    assert chunks == len(CORPUS) and kept["aspirin"] == 2 and kept["heart"] == 3

    async with conn.cursor() as cur:  # a bulk load, as the search benchmark seeds
        async with cur.copy("COPY document_chunks (document_id, ordinal, page_start, page_end, text, token_count)"
                            " FROM STDIN") as copy:
            for i, text in enumerate(CORPUS):
                await copy.write_row((doc_b, 100 + i, 1, 1, text, len(text.split())))
    await assert_stats_exact(conn)

    await conn.execute("DELETE FROM document_chunks WHERE id = ANY(%s)", (ids_a[:2],))
    await assert_stats_exact(conn)
    await conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (uuid.uuid4(),))  # deletes nothing
    await conn.execute("UPDATE document_chunks SET text = 'Aspirin again, and zebras.', token_count = 4"
                       " WHERE id = %s", (ids_a[3],))
    await conn.execute("UPDATE document_chunks SET embedding = NULL")  # not the text: stats untouched
    await assert_stats_exact(conn)
    assert (await kept_stats(conn))[0]["zebra"] == 1

    async with conn.transaction():  # a rolled-back change leaves no trace
        await conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (doc_b,))
        await assert_stats_exact(conn)
        raise psycopg.Rollback()
    await assert_stats_exact(conn)

    await conn.execute("DELETE FROM documents WHERE id = %s", (doc_a,))  # cascades to its chunks
    await assert_stats_exact(conn)
    await conn.execute("TRUNCATE document_chunks CASCADE")
    await assert_stats_exact(conn)
    assert await kept_stats(conn) == ({}, (0, 0))


async def test_stats_follow_ingestion_reprocessing_and_deletion(served: Served) -> None:
    first = await upload_text(served.client, "first.txt", "\n\n".join(CORPUS[:6]))
    second = await upload_text(served.client, "second.txt", "\n\n".join(CORPUS[6:]))
    async with served.rt.pool.connection() as c:
        await assert_stats_exact(c)
        assert (await kept_stats(c))[1][0] > 0
    r = await served.client.post(f"/api/v1/documents/{first}/reprocess")
    assert r.status_code in (200, 202), r.text
    assert (await wait_for_status(served.client, first))["status"] == "ready"
    async with served.rt.pool.connection() as c:
        await assert_stats_exact(c)
    assert (await served.client.delete(f"/api/v1/documents/{second}")).status_code in (200, 204)
    async with served.rt.pool.connection() as c:
        await assert_stats_exact(c)


async def exact_bm25(conn: psycopg.AsyncConnection, query: str, chunk_ids: list[int]) -> dict[int, float]:
    """BM25 (Lucene's formula, k1 = 1.2, b = 0.75) over `chunk_ids`, from their stored tsvectors."""
    cur = await conn.execute("SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', %s)))", (query,))
    terms = {r[0] for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT c.id, c.token_count, u.lexeme, array_length(u.positions, 1)"
        " FROM document_chunks c, unnest(c.tsv) u WHERE c.id = ANY(%s)", (chunk_ids,))
    tf: dict[int, dict[str, int]] = {}
    length: dict[int, int] = {}
    for cid, tokens, lexeme, count in await cur.fetchall():
        tf.setdefault(cid, {})[lexeme] = count
        length[cid] = tokens
    n, avgdl = len(chunk_ids), sum(length.values()) / len(chunk_ids)
    df = {t: sum(1 for c in tf if t in tf[c]) for t in terms}
    scores: dict[int, float] = {}
    for cid, freqs in tf.items():
        s = 0.0
        for t in terms & freqs.keys():
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            f = freqs[t]
            s += idf * f * (search.BM25_K1 + 1) / (f + search.BM25_K1 * (1 - search.BM25_B + search.BM25_B * length[cid] / avgdl))
        if s > 0:
            scores[cid] = s
    return scores


QUERIES = ["Does aspirin lower the risk of heart attack?", "kidney disease in adults with diabetes",
           "blood pressure and stroke", "brain energy", "zebra"]


@pytest.mark.parametrize("limit", [3, 50])
async def test_ranking_is_exact_bm25_on_a_small_corpus(conn: psycopg.AsyncConnection, limit: int) -> None:
    owner = await add_user(conn, "a@example.com")
    _, ids = await add_document(conn, owner, CORPUS)
    for query in QUERIES:
        expected = sorted((await exact_bm25(conn, query, ids)).items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        got = await search.lexical(conn, owner, query, limit, None)
        assert [c for c, _ in got] == [c for c, _ in expected], query
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9), query


async def test_only_readable_ready_chunks_are_returned(conn: psycopg.AsyncConnection) -> None:
    alice, bob = await add_user(conn, "a@example.com"), await add_user(conn, "b@example.com")
    _, mine = await add_document(conn, alice, CORPUS[:4])
    await add_document(conn, bob, CORPUS)
    await add_document(conn, alice, CORPUS, status="embedding")
    got = await search.lexical(conn, alice, "aspirin heart blood", 50, None)
    assert got and {c for c, _ in got} <= set(mine)
    assert await search.lexical(conn, alice, "stroke", 50, None) == []  # only in others' or unready chunks


async def test_rare_terms_pick_the_candidates_and_every_term_scores(conn: psycopg.AsyncConnection,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    owner = await add_user(conn, "a@example.com")
    _, ids = await add_document(conn, owner, CORPUS)
    query = "aspirin blood"  # aspirin: 2 chunks; blood: 6
    monkeypatch.setattr(search, "CANDIDATE_BUDGET", 2)
    monkeypatch.setattr(search, "CANDIDATES_PER_HIT", 0)
    exact = await exact_bm25(conn, query, ids)
    got = await search.lexical(conn, owner, query, 2, None)
    # Only chunks holding "aspirin" were scored, with the full BM25 (blood counts too).
    assert [c for c, _ in got] == sorted((c for c in exact if "spirin" in CORPUS[ids.index(c)]),
                                         key=lambda c: (-exact[c], c))
    assert [s for _, s in got] == pytest.approx([exact[c] for c, _ in got], rel=1e-9)
    # Fewer hits than asked from the rare terms: every term is used, as exact BM25.
    got = await search.lexical(conn, owner, query, 5, None)
    assert [c for c, _ in got] == sorted(exact, key=lambda c: (-exact[c], c))[:5]


async def test_a_rare_term_only_in_unreadable_chunks_still_finds_the_common_ones(
        conn: psycopg.AsyncConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = await add_user(conn, "a@example.com"), await add_user(conn, "b@example.com")
    _, mine = await add_document(conn, alice, ["The blood test came back normal."])
    await add_document(conn, bob, ["Aspirin thins the blood.", "Aspirin is old.", "Blood is red."])
    monkeypatch.setattr(search, "CANDIDATE_BUDGET", 1)
    monkeypatch.setattr(search, "CANDIDATES_PER_HIT", 0)
    got = await search.lexical(conn, alice, "aspirin blood", 10, None)
    assert [c for c, _ in got] == mine


async def test_a_slow_full_text_query_is_cancelled_with_a_clear_error(conn: psycopg.AsyncConnection,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    owner = await add_user(conn, "a@example.com")
    await add_document(conn, owner, CORPUS)

    async def slow(c: psycopg.AsyncConnection, *args: Any) -> list[tuple[int, float]]:
        await c.execute("SELECT pg_sleep(5)")
        return []

    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = '7s'")
        assert await search.lexical(conn, owner, "aspirin", 5, None)
        cur = await conn.execute("SHOW statement_timeout")
        assert (await cur.fetchone()) == ("7s",)  # the caller's setting is restored
    monkeypatch.setattr(search, "STATEMENT_TIMEOUT_MS", 100)
    monkeypatch.setattr(search, "_ranked", slow)
    with pytest.raises(ServiceUnavailable) as caught:
        async with conn.transaction():
            await search.lexical(conn, owner, "aspirin", 5, None)
    assert caught.value.code == "search_timeout"
