"""POST /api/v1/search: query -> top-k chunks with document, pages, marked snippet and scores."""

from __future__ import annotations

import time

from litestar import post
from litestar.params import JSONBody

from server.deps import RT, CallerDep
from server.errors import BadRequest
from server.rag import retrieve
from shared import routes
from shared.models.search import SearchHit, SearchRequest, SearchResponse


@post(routes.SEARCH, tags=["search"], status_code=200)
async def search(rt: RT, caller: CallerDep, data: JSONBody[SearchRequest]) -> SearchResponse:
    """Hybrid (default), dense or lexical search over the documents the caller may read."""
    query = data.query.strip()
    if not query:
        raise BadRequest("The query is empty.", code="empty_query")
    if data.document_ids is not None:
        _check_uuids(data.document_ids)
    started = time.perf_counter()
    hits = await retrieve.search(rt, caller, query, top_k=data.top_k, mode=data.mode, document_ids=data.document_ids)
    return SearchResponse(
        query=query,
        mode=data.mode,
        results=[SearchHit(**{k: v for k, v in vars(h).items() if k != "text"}) for h in hits],
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def _check_uuids(ids: list[str]) -> None:
    from uuid import UUID

    for value in ids:
        try:
            UUID(value)
        except ValueError:
            raise BadRequest(f"{value!r} is not a document id.", code="invalid_document_id") from None


HANDLERS = [search]
