"""Collections: a user groups their own documents and shares them read-only with named users.

Recipients see a shared collection and read its documents (list, page text, download, search,
chat: `server.auth.access.READABLE`); only the owner changes it, deletes it or sees its
recipients. A collection someone may not see answers 404, as if it did not exist.
"""

from __future__ import annotations

from uuid import UUID

import psycopg
from loguru import logger

from server.auth.caller import Caller
from server.db import collections as coll_db
from server.db import users as users_db
from server.db.collections import CollectionRow
from server.errors import BadRequest, Conflict, Forbidden, NotFound
from server.runtime import Runtime
from shared.models.collections import Collection, CollectionDetail, CollectionDocument, CollectionList, Share


def to_wire(row: CollectionRow, caller: Caller) -> Collection:
    owned = row.owner == caller.id
    return Collection(id=str(row.id), name=row.name, description=row.description, owner=str(row.owner),
                      owner_email=row.owner_email, owned=owned, document_count=row.document_count,
                      share_count=row.share_count if owned else 0, created_at=row.created_at,
                      updated_at=row.updated_at)


async def _visible(conn: psycopg.AsyncConnection, caller: Caller, collection_id: UUID) -> CollectionRow:
    row = await coll_db.get_visible(conn, collection_id, caller.id)
    if row is None:
        raise NotFound(f"Collection {collection_id} not found.", code="collection_not_found")
    return row


async def _owned(conn: psycopg.AsyncConnection, caller: Caller, collection_id: UUID) -> CollectionRow:
    row = await _visible(conn, caller, collection_id)
    if row.owner != caller.id:
        raise Forbidden("Only the collection's owner may change it.", code="not_owner")
    return row


def _uuids(values: list[str]) -> list[UUID]:
    try:
        return [UUID(v) for v in values]
    except ValueError:
        raise BadRequest("document_ids must be document ids (UUIDs).", code="invalid_document_id") from None


async def create(rt: Runtime, caller: Caller, name: str, description: str) -> Collection:
    name = name.strip()
    if not name:
        raise BadRequest("The collection needs a name.", code="invalid_name")
    async with rt.pool.connection() as conn:
        new_id = await coll_db.create(conn, caller.id, name, description.strip())
        if new_id is None:
            raise Conflict(f"You already have a collection named {name!r}.", code="collection_exists")
        row = await _visible(conn, caller, new_id)
    logger.info("{} created collection {}", caller.email, new_id)
    return to_wire(row, caller)


async def list_visible(rt: Runtime, caller: Caller) -> CollectionList:
    async with rt.pool.connection() as conn:
        rows = await coll_db.visible(conn, caller.id)
    return CollectionList(items=[to_wire(r, caller) for r in rows])


async def detail(rt: Runtime, caller: Caller, collection_id: UUID) -> CollectionDetail:
    async with rt.pool.connection() as conn:
        row = await _visible(conn, caller, collection_id)
        docs = await coll_db.documents(conn, collection_id)
        shares = await coll_db.shares(conn, collection_id) if row.owner == caller.id else []
    return CollectionDetail(
        collection=to_wire(row, caller),
        documents=[CollectionDocument(id=d[0], title=d[1], filename=d[2], status=d[3]) for d in docs],
        shares=[Share(user_id=s[0], email=s[1], created_at=s[2]) for s in shares],
    )


async def delete(rt: Runtime, caller: Caller, collection_id: UUID) -> None:
    async with rt.pool.connection() as conn:
        await _owned(conn, caller, collection_id)
        await coll_db.delete(conn, collection_id)
    logger.info("{} deleted collection {}", caller.email, collection_id)


async def add_documents(rt: Runtime, caller: Caller, collection_id: UUID, document_ids: list[str]) -> CollectionDetail:
    """Add the caller's own documents; any other id is refused as not found (nothing is added)."""
    ids = _uuids(document_ids)
    async with rt.pool.connection() as conn:
        await _owned(conn, caller, collection_id)
        missing = set(ids) - await coll_db.owned_documents(conn, caller.id, ids)
        if missing:
            raise NotFound(f"{len(missing)} of the documents are not yours or do not exist: "
                           f"{', '.join(sorted(map(str, missing)))}.", code="document_not_found")
        await coll_db.add_documents(conn, collection_id, ids)
    return await detail(rt, caller, collection_id)


async def remove_document(rt: Runtime, caller: Caller, collection_id: UUID, document_id: UUID) -> None:
    async with rt.pool.connection() as conn:
        await _owned(conn, caller, collection_id)
        if not await coll_db.remove_document(conn, collection_id, document_id):
            raise NotFound(f"Document {document_id} is not in the collection.", code="document_not_found")


async def share(rt: Runtime, caller: Caller, collection_id: UUID, email: str) -> CollectionDetail:
    async with rt.pool.connection() as conn:
        await _owned(conn, caller, collection_id)
        user = await users_db.by_email(conn, email.strip())
        if user is None:
            raise NotFound(f"No user {email.strip()!r}.", code="user_not_found")
        if user.id == caller.id:
            raise BadRequest("You own this collection already.", code="share_with_self")
        await coll_db.share(conn, collection_id, user.id)
    logger.info("{} shared collection {} with {}", caller.email, collection_id, user.email)
    return await detail(rt, caller, collection_id)


async def unshare(rt: Runtime, caller: Caller, collection_id: UUID, email: str) -> None:
    async with rt.pool.connection() as conn:
        await _owned(conn, caller, collection_id)
        user = await users_db.by_email(conn, email.strip())
        if user is None or not await coll_db.unshare(conn, collection_id, user.id):
            raise NotFound(f"The collection is not shared with {email.strip()!r}.", code="share_not_found")
    logger.info("{} stopped sharing collection {} with {}", caller.email, collection_id, email.strip())
