"""Fixtures for the storage tests: a real S3-protocol server (moto), settings, and stores."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from minio import Minio

from server.settings import StorageSettings
from server.storage import LocalBlobStore, S3BlobStore

BIG_FILE_BYTES = 30 * 1024 * 1024
MOTO_START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def s3_settings(endpoint: str, bucket: str, *, check_timeout: float = 2.0) -> StorageSettings:
    return StorageSettings(
        backend="s3",
        local_dir=Path("/nonexistent"),
        s3_endpoint=endpoint,
        s3_bucket=bucket,
        s3_access_key="testing",
        s3_secret_key="testing-secret",
        s3_secure=False,
        s3_region=None,
        check_timeout=check_timeout,
    )


def new_bucket() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run `moto.server` as a subprocess for the module; yields "127.0.0.1:<port>"."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        )
    try:
        deadline = time.monotonic() + MOTO_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto.server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"moto.server did not answer within {MOTO_START_TIMEOUT:g}s")
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def raw_s3(moto_endpoint: str) -> Minio:
    """A plain minio client on the moto server, to look behind the store's back."""
    return Minio(moto_endpoint, access_key="testing", secret_key="testing-secret", secure=False)


S3StoreFactory = Callable[..., S3BlobStore]


@pytest.fixture
async def s3_store_factory(moto_endpoint: str) -> AsyncIterator[S3StoreFactory]:
    """Build S3 stores (default: on moto, a fresh bucket not created yet); closes them afterwards."""
    made: list[S3BlobStore] = []

    def make(endpoint: str | None = None, bucket: str | None = None, check_timeout: float = 2.0) -> S3BlobStore:
        cfg = s3_settings(endpoint or moto_endpoint, bucket or new_bucket(), check_timeout=check_timeout)
        made.append(S3BlobStore(cfg))
        return made[-1]

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def s3_store(s3_store_factory: S3StoreFactory) -> S3BlobStore:
    """A store on moto with a fresh bucket that the store itself must create."""
    return s3_store_factory()


@pytest.fixture
def dead_endpoint() -> str:
    """A "host:port" with nothing listening."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
async def local_store(tmp_path: Path) -> AsyncIterator[LocalBlobStore]:
    store = LocalBlobStore(tmp_path / "root")
    yield store
    await store.close()


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 30 MB file of random bytes and its sha256, made once per session."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        for _ in range(BIG_FILE_BYTES // (1 << 20)):
            block = os.urandom(1 << 20)
            digest.update(block)
            fh.write(block)
    return path, digest.hexdigest()
