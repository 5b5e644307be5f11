"""Behaviour every BlobStore must have, run against each backend.

A backend's test module subclasses `BlobStoreContract` (as `Test...`) and provides two fixtures:
`store` (a fresh, empty store) and `stored_keys` (an async callable listing every stored key).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from server.storage import BlobStore, StorageError

KEY = "documents/0b7a5f0e-0000-4000-8000-000000000001/original"
HOSTILE_KEYS = ["../x", "/etc/passwd", "a/../../b", "a\\b", "", "a//b", "..", "./a", "a/", "a b", "é", "a\nb"]

StoredKeys = Callable[[], Awaitable[set[str]]]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


async def read_chunks(store: BlobStore, key: str, chunk_size: int) -> list[bytes]:
    chunks = await store.open_chunks(key, chunk_size)
    return [chunk async for chunk in chunks]


class BlobStoreContract:
    """Shared behaviour tests; not collected by itself (no `Test` prefix)."""

    async def test_round_trip(self, store: BlobStore, tmp_path: Path, stored_keys: StoredKeys) -> None:
        data = b"%PDF-1.7 hello storage\n" * 100
        await store.put_file(KEY, write(tmp_path / "in.pdf", data), "application/pdf")

        assert await store.exists(KEY)
        assert await store.size(KEY) == len(data)
        assert await store.get_bytes(KEY) == data
        dest = tmp_path / "out" / "copy.pdf"
        dest.parent.mkdir()
        await store.get_file(KEY, dest)
        assert dest.read_bytes() == data
        assert sorted(p.name for p in dest.parent.iterdir()) == ["copy.pdf"]  # no partial files left
        chunks = await read_chunks(store, KEY, 1000)
        assert b"".join(chunks) == data
        assert all(0 < len(c) <= 1000 for c in chunks) and len(chunks) == -(-len(data) // 1000)
        assert await stored_keys() == {KEY}

        await store.delete(KEY)
        assert not await store.exists(KEY)
        assert await stored_keys() == set()

    async def test_put_replaces_existing_object(self, store: BlobStore, tmp_path: Path) -> None:
        await store.put_file(KEY, write(tmp_path / "a", b"first version"), "text/plain")
        await store.put_file(KEY, write(tmp_path / "b", b"second"), "text/plain")
        assert await store.get_bytes(KEY) == b"second"
        assert await store.size(KEY) == 6

    async def test_get_file_replaces_existing_destination(self, store: BlobStore, tmp_path: Path) -> None:
        await store.put_file(KEY, write(tmp_path / "in", b"new"), "text/plain")
        dest = write(tmp_path / "dest", b"old content that is longer")
        await store.get_file(KEY, dest)
        assert dest.read_bytes() == b"new"

    async def test_empty_object(self, store: BlobStore, tmp_path: Path) -> None:
        await store.put_file(KEY, write(tmp_path / "empty", b""), "application/octet-stream")
        assert await store.exists(KEY)
        assert await store.size(KEY) == 0
        assert await store.get_bytes(KEY) == b""
        assert await read_chunks(store, KEY, 10) == []

    async def test_big_file_round_trip(self, store: BlobStore, tmp_path: Path, big_file: tuple[Path, str]) -> None:
        path, digest = big_file
        await store.put_file(KEY, path, "application/pdf")
        assert await store.size(KEY) == path.stat().st_size
        dest = tmp_path / "big.out"
        await store.get_file(KEY, dest)
        assert sha256_file(dest) == digest
        streamed = hashlib.sha256()
        async for chunk in await store.open_chunks(KEY):
            assert len(chunk) <= 1 << 20
            streamed.update(chunk)
        assert streamed.hexdigest() == digest

    async def test_partially_read_stream_can_be_closed(self, store: BlobStore, tmp_path: Path) -> None:
        await store.put_file(KEY, write(tmp_path / "in", b"x" * 10_000), "text/plain")
        chunks = await store.open_chunks(KEY, 100)
        assert await anext(chunks) == b"x" * 100
        await chunks.aclose()  # type: ignore[attr-defined]
        await store.delete(KEY)  # nothing holds the object any more
        assert not await store.exists(KEY)

    @pytest.mark.parametrize("key", HOSTILE_KEYS)
    async def test_hostile_keys_are_rejected(
        self, store: BlobStore, tmp_path: Path, stored_keys: StoredKeys, key: str
    ) -> None:
        src = write(tmp_path / "payload", b"payload")
        attempts: list[Callable[[], Awaitable[object]]] = [
            lambda: store.put_file(key, src, "text/plain"),
            lambda: store.get_file(key, tmp_path / "dest"),
            lambda: store.get_bytes(key),
            lambda: store.open_chunks(key),
            lambda: store.size(key),
            lambda: store.exists(key),
            lambda: store.delete(key),
        ]
        for attempt in attempts:
            with pytest.raises(StorageError) as info:
                await attempt()
            assert info.value.code == "invalid_key"
        assert not (tmp_path / "dest").exists()
        assert await stored_keys() == set()

    async def test_missing_object(self, store: BlobStore, tmp_path: Path) -> None:
        missing = "documents/does-not-exist/original"
        for attempt in (
            lambda: store.get_bytes(missing),
            lambda: store.get_file(missing, tmp_path / "dest"),
            lambda: store.open_chunks(missing),
            lambda: store.size(missing),
        ):
            with pytest.raises(StorageError) as info:
                await attempt()
            assert info.value.code == "object_not_found"
        assert not await store.exists(missing)
        assert not [p for p in tmp_path.iterdir() if p.name.startswith("dest")]  # get_file left nothing behind

    async def test_delete_missing_is_fine(self, store: BlobStore) -> None:
        await store.delete("documents/never-stored/original")
        await store.delete("documents/never-stored/original")

    async def test_check_passes_and_leaves_nothing(self, store: BlobStore, stored_keys: StoredKeys) -> None:
        await store.check()
        await store.check()
        assert await stored_keys() == set()
