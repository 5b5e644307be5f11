"""Document wire types."""

from __future__ import annotations

from datetime import datetime

import msgspec

TERMINAL_SCOPES = ("own", "shared", "all", "all-readable")  # document list scopes; all-readable = all
STATUSES = ("ready", "failed")
SCOPES = ("own", "shared", "all", "all-readable")  # document list scopes; all-readable = all
STATUSES = ("queued", "extracting", "chunking", "embedding", "indexing", "ready", "failed")


class Progress(msgspec.Struct, kw_only=True):
    pages_done: int = 0
    page_count: int | None = None
    chunks_embedded: int = 0
    chunk_count: int = 0


class Document(msgspec.Struct, kw_only=True):
    id: str
    title: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    status: str
    stage: str
    error: str | None = None
    error_code: str | None = None
    notes: list[str] = []
    page_count: int | None = None
    chunk_count: int = 0
    vector_count: int = 0
    progress: Progress = msgspec.field(default_factory=Progress)
    embedding_model: str | None = None
    owner: str | None = None
    upload_date: datetime
    updated_at: datetime
    ready_at: datetime | None = None
    duplicate: bool = False


class DocumentList(msgspec.Struct, kw_only=True):
    items: list[Document]
    total: int
    limit: int
    offset: int


class PageText(msgspec.Struct, kw_only=True):
    document_id: str
    page: int
    page_count: int | None
    text: str
