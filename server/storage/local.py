"""BlobStore on a local directory: atomic writes, paths confined to the root, all I/O off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from server.storage.base import DEFAULT_CHUNK_SIZE, StorageError, validate_key

T = TypeVar("T")

_COPY_BUFFER = 1 << 20
_MB = 1024 * 1024
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class LocalBlobStore:
    """Objects are files under `root`; key "documents/<id>/original" is the file `root/documents/<id>/original`."""

    kind = "local"

    def __init__(self, root: Path, *, check_timeout: float = 2.0, min_free_bytes: int = 100 * _MB) -> None:
        self.root = Path(root).expanduser().absolute()
        self.check_timeout = check_timeout
        self.min_free_bytes = min_free_bytes

    # ------------------------------------------------------------ paths and errors

    def _path(self, key: str) -> Path:
        """The file for `key`, refused unless it resolves strictly inside the root (blocking: resolves links)."""
        root = self.root.resolve()
        path = (root / key).resolve()
        if path == root or not path.is_relative_to(root):
            raise StorageError("invalid_key", f"object key {key!r} resolves outside the storage directory")
        return path

    async def _run(self, key: str, fn: Callable[[Path], T]) -> T:
        """Validate `key`, then run blocking `fn(path)` in a thread, turning OS errors into `StorageError`."""
        validate_key(key)
        try:
            return await asyncio.to_thread(lambda: fn(self._path(key)))
        except StorageError:
            raise
        except _MISSING:
            raise StorageError("object_not_found", f"no object {key!r} in {self.root}") from None
        except OSError as exc:
            raise StorageError("storage_unavailable", f"{exc.strerror or exc} ({key!r} under {self.root})") from exc

    # ------------------------------------------------------------ writes

    def _write_atomic(self, dest: Path, src: BinaryIO) -> None:
        """Copy `src` to `dest` through a temp file in its directory: fsync, then os.replace."""
        for attempt in range(2):  # a concurrent delete may prune the fresh directory once
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
            try:
                out = open(tmp, "xb")  # noqa: SIM115 - closed below, before the replace
            except FileNotFoundError:
                if attempt:
                    raise
                continue
            try:
                with out:
                    shutil.copyfileobj(src, out, _COPY_BUFFER)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, dest)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
            _fsync_dir(dest.parent)
            return

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        validate_key(key)
        source = Path(path)

        def put() -> None:
            dest = self._path(key)
            with open(source, "rb") as src:  # a missing source is the caller's error: not mapped
                try:
                    self._write_atomic(dest, src)
                except OSError as exc:
                    raise StorageError("storage_unavailable", f"cannot write {key!r} under {self.root}: {exc}") from exc

        await asyncio.to_thread(put)

    async def delete(self, key: str) -> None:
        def remove(path: Path) -> None:
            with contextlib.suppress(*_MISSING):
                path.unlink()
            # Prune now-empty directories (documents/<id>/) up to, not including, the root.
            root = self.root.resolve()
            parent = path.parent
            while parent != root and parent.is_relative_to(root):
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

        await self._run(key, remove)

    # ------------------------------------------------------------ reads

    async def get_file(self, key: str, dest: Path) -> None:
        target = Path(dest)

        def fetch(path: Path) -> None:
            with open(path, "rb") as src:
                if not os.path.isfile(path):
                    raise IsADirectoryError(str(path))
                try:
                    self._write_atomic(target, src)
                except OSError as exc:  # the destination is the caller's: not "object not found"
                    raise StorageError("storage_unavailable", f"cannot write {target}: {exc}") from exc

        await self._run(key, fetch)

    async def get_bytes(self, key: str) -> bytes:
        return await self._run(key, Path.read_bytes)

    async def open_chunks(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        def open_file(path: Path) -> BinaryIO:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the iterator
            if not os.path.isfile(path):
                fh.close()
                raise IsADirectoryError(str(path))
            return fh

        fh = await self._run(key, open_file)
        return _iter_file(fh, chunk_size)

    async def size(self, key: str) -> int:
        def stat(path: Path) -> int:
            if not path.is_file():
                raise FileNotFoundError(str(path))
            return path.stat().st_size

        return await self._run(key, stat)

    async def exists(self, key: str) -> bool:
        return await self._run(key, Path.is_file)

    # ------------------------------------------------------------ health

    async def check(self) -> None:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._probe), self.check_timeout)
        except TimeoutError:
            raise StorageError(
                "storage_unavailable", f"storage directory {self.root} did not answer within {self.check_timeout:g}s"
            ) from None

    def _probe(self) -> None:
        """Create the root if missing, write+read+delete a probe file, then check free space."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise StorageError("storage_unavailable", f"storage path {root} exists but is not a directory")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError("storage_unavailable", f"cannot create storage directory {root}: {exc}") from exc
        probe = root / f".probe-{uuid.uuid4().hex}"
        payload = b"docman storage probe\n"
        try:
            with open(probe, "xb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            if probe.read_bytes() != payload:
                raise StorageError("storage_unavailable", f"probe file under {root} read back different bytes")
        except OSError as exc:
            raise StorageError("storage_unavailable", f"storage directory {root} is not writable: {exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()
        free = shutil.disk_usage(root).free
        if free < self.min_free_bytes:
            raise StorageError("storage_unavailable", f"low disk space: {free // _MB} MB free under {root}")

    async def close(self) -> None:
        return None


async def _iter_file(fh: BinaryIO, chunk_size: int) -> AsyncIterator[bytes]:
    """Yield the file in chunks read off the event loop; always closes it."""
    try:
        while chunk := await asyncio.to_thread(fh.read, chunk_size):
            yield chunk
    finally:
        fh.close()


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
