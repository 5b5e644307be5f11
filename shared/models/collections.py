"""Collections: a user's named set of their own documents, shared read-only with other users."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class CollectionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class CollectionDocuments(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Documents (the caller's own) to add to a collection."""

    document_ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=500)]


class ShareRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]


class Share(msgspec.Struct, kw_only=True):
    user_id: str
    email: str
    created_at: datetime


class CollectionDocument(msgspec.Struct, kw_only=True):
    id: str
    title: str
    filename: str
    status: str


class Collection(msgspec.Struct, kw_only=True):
    id: str
    name: str
    description: str = ""
    owner: str  # user id
    owner_email: str
    owned: bool  # the caller owns it (else it is shared with them)
    document_count: int = 0
    share_count: int = 0  # 0 for recipients: only the owner sees who else it is shared with
    created_at: datetime
    updated_at: datetime


class CollectionDetail(msgspec.Struct, kw_only=True):
    collection: Collection
    documents: list[CollectionDocument]
    shares: list[Share] = []  # the owner only


class CollectionList(msgspec.Struct, kw_only=True):
    items: list[Collection]
