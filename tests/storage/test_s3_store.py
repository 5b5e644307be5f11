"""S3BlobStore against a real S3-protocol server (moto in server mode): the contract, buckets, dead endpoints."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from blobstore_contract import KEY, BlobStoreContract, StoredKeys, write
from minio import Minio
from minio.error import S3Error

from server.storage import S3BlobStore, StorageError


@pytest.fixture
def store(s3_store: S3BlobStore) -> S3BlobStore:
    return s3_store


@pytest.fixture
def stored_keys(s3_store: S3BlobStore, raw_s3: Minio) -> StoredKeys:
    async def keys() -> set[str]:
        def listing() -> set[str]:
            if not raw_s3.bucket_exists(s3_store.bucket):
                return set()
            return {o.object_name for o in raw_s3.list_objects(s3_store.bucket, recursive=True) if o.object_name}

        return await asyncio.to_thread(listing)

    return keys


S3StoreFactory = Callable[..., S3BlobStore]


class TestS3Contract(BlobStoreContract):
    pass


# ---------------------------------------------------------------- buckets


async def test_bucket_created_on_first_use(s3_store: S3BlobStore, raw_s3: Minio, tmp_path: Path) -> None:
    assert not raw_s3.bucket_exists(s3_store.bucket)
    await s3_store.put_file(KEY, write(tmp_path / "in", b"data"), "application/pdf")
    assert raw_s3.bucket_exists(s3_store.bucket)
    assert raw_s3.get_object(s3_store.bucket, KEY).read() == b"data"
    stat = raw_s3.stat_object(s3_store.bucket, KEY)
    assert stat.content_type == "application/pdf"


async def test_bucket_created_by_check(s3_store: S3BlobStore, raw_s3: Minio) -> None:
    await s3_store.check()
    assert raw_s3.bucket_exists(s3_store.bucket)


async def test_existing_bucket_is_used(s3_store: S3BlobStore, raw_s3: Minio, tmp_path: Path) -> None:
    raw_s3.make_bucket(s3_store.bucket)
    raw_s3.put_object(s3_store.bucket, "documents/old", io.BytesIO(b"kept"), 4)
    await s3_store.put_file(KEY, write(tmp_path / "in", b"new"), "text/plain")
    assert await s3_store.get_bytes("documents/old") == b"kept"


async def test_bucket_creation_race_is_tolerated(
    s3_store: S3BlobStore, raw_s3: Minio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process creates the bucket between our exists-check and our create."""
    real_make = s3_store._client.make_bucket

    def make_bucket_after_rival(bucket: str, location: str | None = None) -> None:
        real_make(bucket, location)  # the rival wins...
        raise S3Error(None, "BucketAlreadyOwnedByYou", "taken", f"/{bucket}", None, None)  # type: ignore[arg-type]

    monkeypatch.setattr(s3_store._client, "make_bucket", make_bucket_after_rival)
    await s3_store.put_file(KEY, write(tmp_path / "in", b"data"), "text/plain")
    assert await s3_store.get_bytes(KEY) == b"data"


async def test_bucket_deleted_behind_our_back_is_recreated(
    s3_store: S3BlobStore, raw_s3: Minio, tmp_path: Path
) -> None:
    src = write(tmp_path / "in", b"data")
    await s3_store.put_file(KEY, src, "text/plain")
    raw_s3.remove_object(s3_store.bucket, KEY)
    raw_s3.remove_bucket(s3_store.bucket)
    with pytest.raises(StorageError) as info:
        await s3_store.put_file(KEY, src, "text/plain")
    assert info.value.code == "storage_unavailable" and "NoSuchBucket" in info.value.message
    await s3_store.put_file(KEY, src, "text/plain")
    assert await s3_store.exists(KEY)


# ---------------------------------------------------------------- unreachable endpoints


async def test_dead_endpoint_check_fails_fast(s3_store_factory: S3StoreFactory, dead_endpoint: str) -> None:
    store = s3_store_factory(endpoint=dead_endpoint, check_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        await store.check()
    assert time.monotonic() - started < 1.0 + 1
    assert info.value.code == "storage_unavailable"
    assert dead_endpoint in info.value.message


async def test_dead_endpoint_operations_fail_fast(
    s3_store_factory: S3StoreFactory, dead_endpoint: str, tmp_path: Path
) -> None:
    store = s3_store_factory(endpoint=dead_endpoint, check_timeout=1.0)
    src = write(tmp_path / "in", b"data")
    for attempt in (
        lambda: store.put_file(KEY, src, "text/plain"),
        lambda: store.get_bytes(KEY),
        lambda: store.exists(KEY),
        lambda: store.delete(KEY),
    ):
        started = time.monotonic()
        with pytest.raises(StorageError) as info:
            await attempt()
        assert time.monotonic() - started < 3
        assert info.value.code == "storage_unavailable" and dead_endpoint in info.value.message


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint that accepts TCP connections but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


async def test_silent_endpoint_check_respects_timeout(s3_store_factory: S3StoreFactory, silent_endpoint: str) -> None:
    store = s3_store_factory(endpoint=silent_endpoint, check_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        await store.check()
    assert time.monotonic() - started < 0.5 + 1
    assert info.value.code == "storage_unavailable"
    assert silent_endpoint in info.value.message


async def test_misconfigured_bucket_is_reported(s3_store_factory: S3StoreFactory) -> None:
    """moto accepts any credentials, so an invalid bucket name stands in for a misconfiguration."""
    store = s3_store_factory(bucket="Not_A_Valid_Bucket")
    with pytest.raises(StorageError) as info:
        await store.check()
    assert info.value.code == "storage_unavailable"
    assert "Not_A_Valid_Bucket" in info.value.message
