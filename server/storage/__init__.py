"""Object storage for document originals: one `BlobStore` protocol, a local and an S3 backend."""

from __future__ import annotations

from server.settings import StorageSettings
from server.storage.base import DEFAULT_CHUNK_SIZE, BlobStore, StorageError, StorageErrorCode, validate_key
from server.storage.local import LocalBlobStore
from server.storage.s3 import S3BlobStore

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "BlobStore",
    "LocalBlobStore",
    "S3BlobStore",
    "StorageError",
    "StorageErrorCode",
    "make_blob_store",
    "validate_key",
]


def make_blob_store(cfg: StorageSettings) -> BlobStore:
    """The backend `cfg.backend` names; nothing touches the network or disk until first use."""
    if cfg.backend == "local":
        return LocalBlobStore(cfg.local_dir, check_timeout=cfg.check_timeout)
    if cfg.backend == "s3":
        return S3BlobStore(cfg)
    raise ValueError(f"unknown storage backend {cfg.backend!r} (expected 'local' or 's3')")
