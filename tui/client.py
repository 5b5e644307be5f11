"""`DocmanClient`: the one way the terminal apps (and the ops CLI) talk to the server.

Every method returns a `shared` wire type. Failures raise `tui.errors.ClientError` subclasses
whose text is meant for people. No Textual in here.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from shared import routes
from shared.models.auth import User
from shared.models.chat import (
    CHAT_EVENT_DECODER,
    AskRequest,
    ChatEvent,
    Conversation,
    ConversationCreate,
    ConversationDetail,
    ConversationList,
    ConversationRename,
)
from shared.models.documents import Document, DocumentList, PageText
from shared.models.health import DependencyHealth, Readiness
from shared.models.ops import (
    FixRequest,
    FixResult,
    IndexReport,
    JobsOverview,
    LogLine,
    LogPage,
    MetricsSummary,
    RebuildResult,
    RunbookDetail,
    RunbookInfo,
    RunbookRun,
    RunbookRunRequest,
)
from shared.models.search import SearchMode, SearchRequest, SearchResponse
from tui.errors import ClientError
from tui.http import HttpCore, path

_LOG_DECODER = msgspec.json.Decoder(LogLine)


@dataclass(frozen=True)
class LogFilter:
    """The filters of `/ops/logs` and `/ops/logs/stream`; empty ones are not sent."""

    level: str | None = None
    service: str | None = None
    correlation_id: str | None = None
    document_id: str | None = None
    contains: str | None = None

    def params(self) -> dict[str, str | None]:
        return {
            "level": self.level,
            "service": self.service,
            "correlation_id": self.correlation_id,
            "document_id": self.document_id,
            "contains": self.contains,
        }


class DocmanClient(HttpCore):
    """Typed endpoints on top of `HttpCore` (sign-in, refresh and errors live there)."""

    # ------------------------------------------------------------------ account and health

    async def me(self) -> User:
        return await self.get(routes.AUTH_ME, User)

    async def ready(self) -> Readiness:
        """Readiness, whether the server is ready (200) or not yet (503, same body)."""
        try:
            resp = await self._send("GET", routes.HEALTH_READY, auth=False)
        except ClientError as exc:
            if exc.status == 503 and exc.raw:
                return msgspec.json.decode(exc.raw, type=Readiness)
            raise
        return msgspec.json.decode(resp.content, type=Readiness)

    async def dependencies(self) -> DependencyHealth:
        return await self.get(routes.HEALTH_DEPENDENCIES, DependencyHealth)

    # ------------------------------------------------------------------ documents

    async def upload(self, file: Path, title: str | None = None) -> Document:
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        data = {"title": title} if title else None
        files = {"file": (file.name, file.read_bytes(), content_type)}
        return await self.post(routes.DOCUMENTS, Document, files=files, data=data)

    async def documents(
        self,
        *,
        status: str | None = None,
        sort: str = "upload_date",
        order: str = "desc",
        limit: int = 100,
        offset: int = 0,
    ) -> DocumentList:
        params = {"status": status, "sort": sort, "order": order, "limit": limit, "offset": offset}
        return await self.get(routes.DOCUMENTS_LIST, DocumentList, params)

    async def document(self, document_id: str) -> Document:
        return await self.get(path(routes.DOCUMENT, document_id=document_id), Document)

    async def page(self, document_id: str, page: int) -> PageText:
        return await self.get(path(routes.DOCUMENT_PAGE, document_id=document_id, page=page), PageText)

    async def delete_document(self, document_id: str) -> None:
        await self._send("DELETE", path(routes.DOCUMENT, document_id=document_id))

    async def reprocess(self, document_id: str) -> Document:
        return await self.post(path(routes.DOCUMENT_REPROCESS, document_id=document_id), Document)

    async def search(self, query: str, *, top_k: int = 10, mode: SearchMode = "hybrid") -> SearchResponse:
        return await self.post(routes.SEARCH, SearchResponse, SearchRequest(query=query, top_k=top_k, mode=mode))

    # ------------------------------------------------------------------ chat

    async def conversations(self) -> ConversationList:
        return await self.get(routes.CHAT_CONVERSATIONS, ConversationList)

    async def create_conversation(self, title: str = "", document_ids: list[str] | None = None) -> Conversation:
        return await self.post(
            routes.CHAT_CONVERSATIONS, Conversation, ConversationCreate(title=title[:200], document_ids=document_ids)
        )

    async def conversation(self, conversation_id: str) -> ConversationDetail:
        return await self.get(path(routes.CHAT_CONVERSATION, conversation_id=conversation_id), ConversationDetail)

    async def rename_conversation(self, conversation_id: str, title: str) -> Conversation:
        body = msgspec.to_builtins(ConversationRename(title=title))
        resp = await self._send("PATCH", path(routes.CHAT_CONVERSATION, conversation_id=conversation_id), json=body)
        return msgspec.json.decode(resp.content, type=Conversation)

    async def delete_conversation(self, conversation_id: str) -> None:
        await self._send("DELETE", path(routes.CHAT_CONVERSATION, conversation_id=conversation_id))

    async def ask(self, conversation_id: str, content: str, *, top_k: int = 6) -> AsyncGenerator[ChatEvent, None]:
        """The answer's events: `Sources`, `Token`s, then `Done` or `Failed`. Use with `contextlib.aclosing`."""
        url = path(routes.CHAT_MESSAGES, conversation_id=conversation_id)
        async for event in self.sse("POST", url, body=AskRequest(content=content, top_k=top_k)):
            if event.data:
                try:
                    yield CHAT_EVENT_DECODER.decode(event.data)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    raise ClientError(
                        f"The server sent an event this client cannot read ({event.event}): {exc}", code="bad_event"
                    ) from exc

    # ------------------------------------------------------------------ operators

    async def logs(
        self, filters: LogFilter | None = None, *, after_seq: int | None = None, limit: int = 200
    ) -> LogPage:
        """Log lines newer than `after_seq` (the newest `limit` of them); pass `last_seq` back to tail."""
        params = {**(filters or LogFilter()).params(), "after_seq": after_seq, "limit": limit}
        return await self.get(routes.OPS_LOGS, LogPage, params)

    async def stream_logs(
        self, filters: LogFilter | None = None, *, seconds: int = 60
    ) -> AsyncGenerator[LogLine, None]:
        """New log lines as they are written, for `seconds` (the server then ends the stream)."""
        params = {**(filters or LogFilter()).params(), "seconds": seconds}
        async for event in self.sse("GET", routes.OPS_LOGS_STREAM, params=params, read_timeout=seconds + 30.0):
            if event.event == "log" and event.data:
                yield _LOG_DECODER.decode(event.data)

    async def jobs(self) -> JobsOverview:
        return await self.get(routes.OPS_JOBS, JobsOverview)

    async def verify_index(self) -> IndexReport:
        return await self.get(routes.OPS_INDEX_VERIFY, IndexReport)

    async def rebuild_index(self, *, backup: bool = True) -> RebuildResult:
        return await self.post(routes.OPS_INDEX_REBUILD, RebuildResult, params={"backup": backup})

    async def metrics_summary(self) -> MetricsSummary:
        return await self.get(routes.OPS_METRICS_SUMMARY, MetricsSummary)

    async def runbooks(self) -> list[RunbookInfo]:
        return await self.get(routes.OPS_RUNBOOKS, list[RunbookInfo])

    async def runbook(self, runbook_id: str) -> RunbookDetail:
        return await self.get(path(routes.OPS_RUNBOOK, runbook_id=runbook_id), RunbookDetail)

    async def run_runbook(self, runbook_id: str, request: RunbookRunRequest) -> RunbookRun:
        return await self.post(path(routes.OPS_RUNBOOK_RUN, runbook_id=runbook_id), RunbookRun, request)

    async def fix(self, fix: str, document_id: str | None = None) -> FixResult:
        return await self.post(routes.OPS_FIX, FixResult, FixRequest(fix=fix, document_id=document_id))
