"""Collections: group your documents and share them read-only with named users."""

from __future__ import annotations

from uuid import UUID

from litestar import delete, get, post
from litestar.params import FromPath, JSONBody

from server import collections as service
from server.deps import RT, CallerDep
from shared import routes
from shared.models.collections import (
    Collection,
    CollectionCreate,
    CollectionDetail,
    CollectionDocuments,
    CollectionList,
    ShareRequest,
)


@post(routes.COLLECTIONS, tags=["collections"], status_code=201)
async def create_collection(rt: RT, caller: CallerDep, data: JSONBody[CollectionCreate]) -> Collection:
    """A new, empty collection of yours."""
    return await service.create(rt, caller, data.name, data.description)


@get(routes.COLLECTIONS, tags=["collections"])
async def list_collections(rt: RT, caller: CallerDep) -> CollectionList:
    """Your collections and those shared with you (`owned: false`)."""
    return await service.list_visible(rt, caller)


@get(routes.COLLECTION, tags=["collections"])
async def get_collection(rt: RT, caller: CallerDep, collection_id: FromPath[UUID]) -> CollectionDetail:
    """A collection's documents; its recipients for the owner."""
    return await service.detail(rt, caller, collection_id)


@delete(routes.COLLECTION, tags=["collections"], status_code=204)
async def delete_collection(rt: RT, caller: CallerDep, collection_id: FromPath[UUID]) -> None:
    """Delete a collection (its documents stay); recipients lose access through it."""
    await service.delete(rt, caller, collection_id)


@post(routes.COLLECTION_DOCUMENTS, tags=["collections"], status_code=200)
async def add_documents(rt: RT, caller: CallerDep, collection_id: FromPath[UUID],
                        data: JSONBody[CollectionDocuments]) -> CollectionDetail:
    """Add your own documents to your collection."""
    return await service.add_documents(rt, caller, collection_id, data.document_ids)


@delete(routes.COLLECTION_DOCUMENT, tags=["collections"], status_code=204)
async def remove_document(rt: RT, caller: CallerDep, collection_id: FromPath[UUID], document_id: FromPath[UUID]) -> None:
    await service.remove_document(rt, caller, collection_id, document_id)


@post(routes.COLLECTION_SHARES, tags=["collections"], status_code=200)
async def share_collection(rt: RT, caller: CallerDep, collection_id: FromPath[UUID],
                           data: JSONBody[ShareRequest]) -> CollectionDetail:
    """Share read-only with the user with this email."""
    return await service.share(rt, caller, collection_id, data.email)


@delete(routes.COLLECTION_SHARE, tags=["collections"], status_code=204)
async def unshare_collection(rt: RT, caller: CallerDep, collection_id: FromPath[UUID], email: FromPath[str]) -> None:
    """Stop sharing with the user with this email."""
    await service.unshare(rt, caller, collection_id, email)


HANDLERS = [create_collection, list_collections, get_collection, delete_collection, add_documents, remove_document,
            share_collection, unshare_collection]
