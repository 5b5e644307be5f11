"""BlobStore on S3 or MinIO through the `minio` client, failing fast when the endpoint is down."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from urllib3.exceptions import HTTPError as Urllib3Error

from server.settings import StorageSettings
from server.storage.base import DEFAULT_CHUNK_SIZE, StorageError, validate_key

T = TypeVar("T")

READ_TIMEOUT = 60.0  # seconds a single socket read may stall during a transfer
_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NotFound"}
_BUCKET_TAKEN = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}
_PROBE_PREFIX = "_health/probe-"


def _http_client(secure: bool, connect: float, read: float, retries: int, maxsize: int) -> urllib3.PoolManager:
    """A pool that gives up quickly on a dead endpoint (minio's default retries for minutes)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect, read=read),
        retries=urllib3.Retry(total=retries, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        maxsize=maxsize,
        cert_reqs="CERT_REQUIRED" if secure else "CERT_NONE",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
    )


def _minio(cfg: StorageSettings, http: urllib3.PoolManager) -> Minio:
    return Minio(
        cfg.s3_endpoint,
        access_key=cfg.s3_access_key or None,
        secret_key=cfg.s3_secret_key or None,
        secure=cfg.s3_secure,
        region=cfg.s3_region,
        http_client=http,
    )


class S3BlobStore:
    """Objects live in one bucket, named by their key; the bucket is created on first use."""

    kind = "s3"

    def __init__(self, cfg: StorageSettings) -> None:
        self.endpoint = cfg.s3_endpoint
        self.bucket = cfg.s3_bucket
        self.region = cfg.s3_region
        self.check_timeout = cfg.check_timeout
        t = cfg.check_timeout
        self._http = _http_client(cfg.s3_secure, connect=t, read=READ_TIMEOUT, retries=1, maxsize=10)
        self._client = _minio(cfg, self._http)
        # The health probe has its own client whose reads also time out after check_timeout, so a
        # stalled endpoint cannot pin a worker thread for READ_TIMEOUT after check() gave up.
        self._check_http = _http_client(cfg.s3_secure, connect=t, read=t, retries=0, maxsize=1)
        self._check_client = _minio(cfg, self._check_http)
        self._bucket_ready = False
        self._bucket_lock = asyncio.Lock()

    # ------------------------------------------------------------ plumbing

    def _error(self, exc: BaseException, key: str | None) -> StorageError:
        """Translate a minio/urllib3 failure into a `StorageError` naming the endpoint."""
        where = f"S3 endpoint {self.endpoint}, bucket {self.bucket!r}"
        if isinstance(exc, S3Error):
            if exc.code == "NoSuchBucket":
                self._bucket_ready = False  # deleted behind our back: recreate on next use
            if exc.code in _MISSING_CODES and key is not None:
                return StorageError("object_not_found", f"no object {key!r} in bucket {self.bucket!r}")
            return StorageError("storage_unavailable", f"{where}: {exc.code}: {exc.message}")
        if isinstance(exc, Urllib3Error):
            reason = getattr(exc, "reason", None) or exc
            return StorageError("storage_unavailable", f"{where} unreachable: {reason}")
        return StorageError("storage_unavailable", f"{where}: {exc}")

    async def _call(self, key: str | None, fn: Callable[[], T]) -> T:
        """Run blocking `fn` in a thread, mapping client errors."""
        try:
            return await asyncio.to_thread(fn)
        except (MinioException, Urllib3Error, ValueError) as exc:  # ValueError: e.g. invalid bucket name
            raise self._error(exc, key) from exc

    def _ensure_bucket_sync(self, client: Minio | None = None) -> None:
        client = client or self._client
        if client.bucket_exists(self.bucket):
            return
        try:
            client.make_bucket(self.bucket, location=self.region)
        except S3Error as exc:
            if exc.code not in _BUCKET_TAKEN:  # another process won the race: fine
                raise

    async def open(self) -> None:
        """Create the bucket if missing (done once, lazily, by every operation)."""
        if self._bucket_ready:
            return
        async with self._bucket_lock:
            if not self._bucket_ready:
                await self._call(None, self._ensure_bucket_sync)
                self._bucket_ready = True

    async def _op(self, key: str, fn: Callable[[], T]) -> T:
        """Validate `key`, make sure the bucket exists, then run `fn`."""
        validate_key(key)
        await self.open()
        return await self._call(key, fn)

    # ------------------------------------------------------------ objects

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        validate_key(key)
        source = str(path)
        if not await asyncio.to_thread(os.path.isfile, source):  # the caller's error, as in the local store
            raise FileNotFoundError(source)
        await self._op(key, lambda: self._client.fput_object(self.bucket, key, source, content_type=content_type))

    async def get_file(self, key: str, dest: Path) -> None:
        target = str(dest)
        part = f"{target}.{uuid.uuid4().hex}.part"

        def fetch() -> None:
            try:
                self._client.fget_object(self.bucket, key, target, tmp_file_path=part)
            except OSError as exc:  # the destination is the caller's: not an S3 problem
                raise StorageError("storage_unavailable", f"cannot write {target}: {exc}") from exc
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(part)

        await self._op(key, fetch)

    async def get_bytes(self, key: str) -> bytes:
        def read() -> bytes:
            resp = self._client.get_object(self.bucket, key)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        return await self._op(key, read)

    async def open_chunks(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        resp = await self._op(key, lambda: self._client.get_object(self.bucket, key))
        return self._iter_response(resp, key, chunk_size)

    async def _iter_response(self, resp: Any, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        """Yield the body read off the event loop; always releases the connection."""
        try:
            while chunk := await self._call(key, lambda: resp.read(chunk_size)):
                yield chunk
        finally:
            resp.close()
            resp.release_conn()

    async def size(self, key: str) -> int:
        stat = await self._op(key, lambda: self._client.stat_object(self.bucket, key))
        return int(stat.size or 0)

    async def delete(self, key: str) -> None:
        # S3 DeleteObject succeeds for a missing key.
        await self._op(key, lambda: self._client.remove_object(self.bucket, key))

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except StorageError as exc:
            if exc.code == "object_not_found":
                return False
            raise
        return True

    # ------------------------------------------------------------ health

    async def check(self) -> None:
        """Reach the endpoint, create the bucket if missing, and write+read+delete a probe object."""
        try:
            await asyncio.wait_for(self._call(None, self._probe), self.check_timeout)
        except TimeoutError:
            raise StorageError(
                "storage_unavailable",
                f"S3 endpoint {self.endpoint} did not answer within {self.check_timeout:g}s",
            ) from None
        self._bucket_ready = True

    def _probe(self) -> None:
        client = self._check_client
        self._ensure_bucket_sync(client)
        key = f"{_PROBE_PREFIX}{uuid.uuid4().hex}"
        payload = b"docman storage probe\n"
        client.put_object(self.bucket, key, io.BytesIO(payload), len(payload))
        try:
            resp = client.get_object(self.bucket, key)
            try:
                if resp.read() != payload:
                    problem = f"probe object in bucket {self.bucket!r} read back different bytes"
                    raise StorageError("storage_unavailable", problem)
            finally:
                resp.close()
                resp.release_conn()
        finally:
            client.remove_object(self.bucket, key)

    async def close(self) -> None:
        self._http.clear()
        self._check_http.clear()
