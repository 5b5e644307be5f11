"""A query embedding begun ahead of the search (`retrieve.start_embedding`): used when it is of the
query searched, ignored otherwise, and never changes what is found."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from server.rag import retrieve
from server.rag.index import Hit


class CountingEmbedder:
    name, dim, max_tokens = "counting", 4, 32

    def __init__(self) -> None:
        self.calls: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.extend(texts)
        out = np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@dataclass
class FakeIndex:
    loaded: bool = True
    queries: list[np.ndarray] = field(default_factory=list)

    def search(self, vector: np.ndarray, k: int, documents: set[str] | None = None) -> list[Hit]:
        self.queries.append(np.asarray(vector))
        return [Hit(1, float(vector[0])), Hit(2, 0.5)]


class FakePool:
    @asynccontextmanager
    async def connection(self) -> AsyncIterator[object]:
        yield object()


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Any:
    async def readable(conn: object, caller: object) -> set[str]:
        return {"doc"}

    async def hit_rows(conn: object, caller_id: object, ids: list[int], query: str, *, with_text: bool = False) -> dict:
        return {i: (i, "doc", "Title", "f.pdf", 1, 1, "snippet", "text") for i in ids}

    monkeypatch.setattr(retrieve, "readable_document_ids", readable)
    monkeypatch.setattr(retrieve.search_db, "hit_rows", hit_rows)
    return SimpleNamespace(index=FakeIndex(), extras={"embedder": CountingEmbedder()}, pool=FakePool())


CALLER = SimpleNamespace(id="caller")


async def test_a_vector_begun_early_is_used_for_its_query(rt: Any) -> None:
    vector = retrieve.start_embedding(rt, "what is in the report")
    assert vector is not None
    early = await retrieve.search(rt, CALLER, "what is in the report", top_k=2, mode="dense", vector=vector)
    assert rt.extras["embedder"].calls == ["what is in the report"]  # embedded once
    plain = await retrieve.search(rt, CALLER, "what is in the report", top_k=2, mode="dense")
    assert early == plain
    np.testing.assert_array_equal(rt.index.queries[0], rt.index.queries[1])


async def test_a_vector_of_another_query_is_ignored(rt: Any) -> None:
    vector = retrieve.start_embedding(rt, "its energy?")
    hits = await retrieve.search(rt, CALLER, "solar panel energy output", top_k=2, mode="dense", vector=vector)
    assert sorted(rt.extras["embedder"].calls) == ["its energy?", "solar panel energy output"]
    expected = rt.extras["embedder"].embed(["solar panel energy output"])[0]
    np.testing.assert_array_equal(rt.index.queries[0], expected)
    assert [h.chunk_id for h in hits] == [1, 2]


async def test_a_vector_of_another_embedder_is_ignored(rt: Any) -> None:
    vector = retrieve.start_embedding(rt, "the report")
    assert vector is not None
    rt.extras["embedder"] = CountingEmbedder()  # the model changed in between
    await retrieve.search(rt, CALLER, "the report", top_k=2, mode="dense", vector=vector)
    assert rt.extras["embedder"].calls == ["the report"]


async def test_no_embedder_no_vector(rt: Any) -> None:
    rt.extras.clear()
    assert retrieve.start_embedding(rt, "anything") is None


async def test_an_unused_failing_vector_is_not_an_unhandled_error(rt: Any) -> None:
    class Broken(CountingEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            raise RuntimeError("boom")

    reported: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
    rt.extras["embedder"] = Broken()
    vector = retrieve.start_embedding(rt, "q")
    assert vector is not None
    await asyncio.wait([vector.task])
    del vector
    gc.collect()
    assert reported == []
