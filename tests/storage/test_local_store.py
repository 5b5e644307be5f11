"""LocalBlobStore: the shared contract, plus confinement to the root and the health probe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from blobstore_contract import HOSTILE_KEYS, KEY, BlobStoreContract, StoredKeys, write

from server.settings import load_settings
from server.storage import LocalBlobStore, S3BlobStore, StorageError, make_blob_store, validate_key


@pytest.fixture
def store(local_store: LocalBlobStore) -> LocalBlobStore:
    return local_store


@pytest.fixture
def stored_keys(local_store: LocalBlobStore) -> StoredKeys:
    async def keys() -> set[str]:
        root = local_store.root
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()

    return keys


class TestLocalContract(BlobStoreContract):
    pass


def files_under(path: Path) -> set[str]:
    return {p.relative_to(path).as_posix() for p in path.rglob("*") if not p.is_dir()}


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize("key", [KEY, "a", "a.b-c_d/E9", "documents/x/original.pdf"])
def test_validate_key_accepts_server_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_validate_key_rejects(key: str) -> None:
    with pytest.raises(StorageError) as info:
        validate_key(key)
    assert info.value.code == "invalid_key"


@pytest.mark.parametrize("key", HOSTILE_KEYS)
async def test_hostile_keys_write_nothing_outside_root(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "root")
    src = write(tmp_path / "payload", b"payload")
    with pytest.raises(StorageError):
        await store.put_file(key, src, "text/plain")
    assert files_under(tmp_path) == {"payload"}


async def test_symlink_out_of_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "evil").symlink_to(outside, target_is_directory=True)
    store = LocalBlobStore(root)
    with pytest.raises(StorageError) as info:
        await store.put_file("evil/x", write(tmp_path / "payload", b"p"), "text/plain")
    assert info.value.code == "invalid_key"
    with pytest.raises(StorageError):
        await store.get_bytes("evil/x")
    assert list(outside.iterdir()) == []


# ---------------------------------------------------------------- files on disk


async def test_layout_is_atomic_and_pruned(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = LocalBlobStore(root)
    await store.put_file(KEY, write(tmp_path / "in", b"data"), "application/pdf")
    assert files_under(root) == {KEY}  # no temp files left beside the object
    await store.delete(KEY)
    assert list(root.iterdir()) == []  # documents/<id>/ pruned, root kept


async def test_missing_source_file_is_the_callers_error(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "root")
    with pytest.raises(FileNotFoundError):
        await store.put_file(KEY, tmp_path / "nope", "text/plain")
    assert files_under(tmp_path) == set()


# ---------------------------------------------------------------- health


async def test_check_creates_missing_root(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    await LocalBlobStore(root).check()
    assert root.is_dir() and list(root.iterdir()) == []


async def test_check_fails_when_root_is_a_file(tmp_path: Path) -> None:
    root = write(tmp_path / "root", b"i am a file")
    with pytest.raises(StorageError) as info:
        await LocalBlobStore(root).check()
    assert info.value.code == "storage_unavailable"
    assert str(root) in info.value.message and "not a directory" in info.value.message


async def test_check_fails_when_parent_is_a_file(tmp_path: Path) -> None:
    root = write(tmp_path / "file", b"x") / "root"
    with pytest.raises(StorageError) as info:
        await LocalBlobStore(root).check()
    assert info.value.code == "storage_unavailable"


async def test_check_reports_low_disk_space(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, min_free_bytes=1 << 62)
    with pytest.raises(StorageError) as info:
        await store.check()
    assert info.value.code == "storage_unavailable"
    assert info.value.message.startswith("low disk space: ") and f"MB free under {tmp_path}" in info.value.message


async def test_write_failure_is_storage_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = LocalBlobStore(root)
    await store.put_file("documents/a", write(tmp_path / "in", b"x"), "text/plain")
    # "documents/a" is a file, so "documents/a/b" cannot be created under it.
    with pytest.raises(StorageError) as info:
        await store.put_file("documents/a/b", tmp_path / "in", "text/plain")
    assert info.value.code == "storage_unavailable"


# ---------------------------------------------------------------- factory


def test_make_blob_store_picks_the_backend(tmp_path: Path) -> None:
    env = {"DOCMAN_DATA_DIR": str(tmp_path), "DOCMAN_S3_ACCESS_KEY": "k", "DOCMAN_S3_SECRET_KEY": "s"}
    local = make_blob_store(load_settings(env).storage)
    assert isinstance(local, LocalBlobStore) and local.kind == "local"
    assert local.root == tmp_path.resolve() / "files"
    s3 = make_blob_store(load_settings(env, DOCMAN_STORAGE_BACKEND="s3").storage)
    assert isinstance(s3, S3BlobStore) and s3.kind == "s3"
    assert not os.listdir(tmp_path)  # building a store touches nothing
