"""Document endpoints: thin controllers over `server.documents`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from litestar import Response, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from server import documents as service
from server.db.documents import SORTS
from server.errors import BadRequest
from server.deps import RT, CallerDep
from shared import routes
from shared.models.documents import SCOPES, STATUSES, Document, DocumentList, PageText


@post(routes.DOCUMENTS, tags=["documents"], status_code=202)
async def upload_document(
    rt: RT,
    caller: CallerDep,
    data: Annotated[dict[str, object], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[Document]:
    """Upload a PDF, plain text or Markdown file (multipart field `file`, optional `title`).

    202 with status `queued`; 200 with `duplicate: true` when the same content was uploaded before.
    """
    file = data.get("file")
    if file is None or isinstance(file, (str, bytes)) or not hasattr(file, "read"):
        raise BadRequest("Send the document as a multipart form field named `file`.", code="file_missing")
    title = data.get("title")
    document, duplicate = await service.upload(rt, caller, file, title if isinstance(title, str) else None)  # type: ignore[arg-type]
    return Response(document, status_code=200 if duplicate else 202)


@get(routes.DOCUMENTS_LIST, tags=["documents"])
async def list_documents(
    rt: RT,
    caller: CallerDep,
    status: FromQuery[str | None] = None,
    scope_: Annotated[str, QueryParameter(name="scope")] = "all",
    sort: FromQuery[str] = "upload_date",
    order: FromQuery[str] = "desc",
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=1_000_000_000)] = 0,
) -> DocumentList:
    """The documents the caller may read, newest first by default.

    `scope`: `own`, `shared` (shared with the caller through collections) or `all` (both; also
    `all-readable`). Filter by `status`, sort by `sort`.
    """
    if status is not None and status not in STATUSES:
        raise BadRequest(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.", code="invalid_status")
    if scope_ not in SCOPES:
        raise BadRequest(f"Unknown scope {scope_!r}; use one of {', '.join(SCOPES)}.", code="invalid_scope")
    if sort not in SORTS:
        raise BadRequest(f"Unknown sort {sort!r}; use one of {', '.join(SORTS)}.", code="invalid_sort")
    if order not in ("asc", "desc"):
        raise BadRequest("order must be asc or desc.", code="invalid_order")
    items, total = await service.list_documents(
        rt, caller, scope=scope_, status=status, sort=sort, descending=order == "desc", limit=limit, offset=offset
    )
    return DocumentList(items=items, total=total, limit=limit, offset=offset)


@get(routes.DOCUMENT, tags=["documents"])
async def get_document(rt: RT, caller: CallerDep, document_id: FromPath[UUID]) -> Document:
    """Metadata, status, stage, progress, error, chunk and vector counts."""
    return await service.get(rt, caller, document_id)


@get(routes.DOCUMENT_CONTENT, tags=["documents"])
async def get_content(rt: RT, caller: CallerDep, document_id: FromPath[UUID]) -> Stream:
    """The original file as uploaded."""
    row = await service.get_row(rt, caller, document_id)
    chunks = await rt.store.open_chunks(row.storage_key)
    disposition = f"attachment; filename*=UTF-8''{quote(row.filename)}"
    return Stream(
        chunks,
        media_type=row.content_type,
        headers={"Content-Disposition": disposition, "Content-Length": str(row.size_bytes)},
    )


@get(routes.DOCUMENT_PAGE, tags=["documents"])
async def get_page(rt: RT, caller: CallerDep, document_id: FromPath[UUID], page: FromPath[int]) -> PageText:
    """The extracted text of page `page` (1-based)."""
    row, text = await service.page_text(rt, caller, document_id, page)
    return PageText(document_id=str(document_id), page=page, page_count=row.page_count, text=text)


@delete(routes.DOCUMENT, tags=["documents"], status_code=204)
async def delete_document(rt: RT, caller: CallerDep, document_id: FromPath[UUID]) -> None:
    """Delete the file, its rows and its vectors (owner only)."""
    await service.delete(rt, caller, document_id)


@post(routes.DOCUMENT_REPROCESS, tags=["documents"], status_code=202)
async def reprocess_document(rt: RT, caller: CallerDep, document_id: FromPath[UUID]) -> Document:
    """Run the document through the pipeline again (owner, or any document for operators)."""
    return await service.reprocess(rt, caller, document_id)


HANDLERS = [upload_document, list_documents, get_document, get_content, get_page, delete_document, reprocess_document]
