"""A deterministic stand-in for `DocmanClient`: the same methods, canned data, no network.

Snapshot tests use it so what they draw never depends on timing or on a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from pathlib import Path

from shared.models.auth import TokenPair, User
from shared.models.chat import (
    ChatEvent,
    Citation,
    Conversation,
    ConversationDetail,
    ConversationList,
    Done,
    Message,
    Sources,
    Token,
    Usage,
)
from shared.models.documents import Document, DocumentList, PageText, Progress
from shared.models.health import DependencyHealth
from shared.models.ops import (
    FixResult,
    JobsOverview,
    LogPage,
    MetricsSummary,
    RunbookDetail,
    RunbookInfo,
    RunbookRun,
    RunbookRunRequest,
)
from tests.tui import fake_ops
from tui.client import DocmanClient, LogFilter
from tui.credentials import Session

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PAGE = (
    "Warranty terms\n\nThis product is covered for parts and labour. The warranty lasts two years from the "
    "date of purchase, provided the product was registered.\n\nReturns are accepted within 30 days with a receipt."
)
CITATIONS = [
    Citation(
        n=1,
        document_id="doc-1",
        title="Warranty handbook",
        filename="warranty.pdf",
        page_start=2,
        page_end=2,
        chunk_id=11,
        snippet="The warranty lasts two years",
        text="The warranty lasts two years from the date of purchase, provided the product was registered.",
    ),
    Citation(
        n=2,
        document_id="doc-1",
        title="Warranty handbook",
        filename="warranty.pdf",
        page_start=2,
        page_end=3,
        chunk_id=12,
        snippet="Returns are accepted within 30 days",
        text="Returns are accepted within 30 days with a receipt.",
    ),
]
ANSWER = [
    "The warranty lasts ",
    "**two years** ",
    "from purchase [1]. ",
    "Returns are accepted ",
    "within 30 days [2].",
]


def doc(doc_id: str, title: str, status: str, **kw: object) -> Document:
    base: dict[str, object] = dict(
        id=doc_id,
        title=title,
        filename=f"{title.lower().replace(' ', '-')}.pdf",
        content_type="application/pdf",
        size_bytes=1000,
        sha256="0" * 64,
        status=status,
        stage=status,
        upload_date=T0,
        updated_at=T0,
    )
    base.update(kw)
    return Document(**base)  # type: ignore[arg-type]


class FakeClient(DocmanClient):
    def __init__(self, *, role: str = "admin", token_delay: float = 0.0) -> None:
        super().__init__(
            "http://fake.test",
            session=Session(
                server="http://fake.test", email="admin@example.com", access_token="fake", refresh_token="fake-refresh"
            ),
        )
        self.role = role
        self.token_delay = token_delay
        self.calls: list[tuple[str, object]] = []
        self.convs = [
            Conversation(id="c1", title="Warranty questions", created_at=T0, updated_at=T0, message_count=2),
            Conversation(id="c2", title="Onboarding checklist", created_at=T0, updated_at=T0, message_count=0),
        ]
        self.docs = [
            doc("doc-1", "Warranty handbook", "ready", page_count=3, chunk_count=12),
            doc("doc-2", "Scanned invoice", "failed", error_code="no_text", error="No extractable text", page_count=1),
            doc(
                "doc-3",
                "Annual report",
                "embedding",
                page_count=40,
                chunk_count=90,
                progress=Progress(pages_done=40, page_count=40, chunks_embedded=45, chunk_count=90),
            ),
        ]
        self.upload_steps: list[Document] = []
        self.metrics_i = 0

    async def login(self, email: str, password: str) -> TokenPair:
        self.calls.append(("login", email))
        if password != "right-password":
            from tui.errors import NotSignedIn

            raise NotSignedIn("Not signed in (invalid_credentials): Incorrect email or password.", status=401)
        self.session = Session(server=self.base_url, email=email, access_token="fake", refresh_token="r")
        return TokenPair(access_token="fake", refresh_token="r", expires_in=900)

    async def me(self) -> User:
        return User(id="u1", email=self.session.email, role=self.role)

    # chat
    async def conversations(self) -> ConversationList:
        return ConversationList(items=list(self.convs), total=len(self.convs))

    async def conversation(self, conversation_id: str) -> ConversationDetail:
        conv = next(c for c in self.convs if c.id == conversation_id)
        messages = (
            []
            if conversation_id != "c1"
            else [
                Message(id=1, role="user", content="How long is the warranty?", created_at=T0),
                Message(
                    id=2,
                    role="assistant",
                    content="".join(ANSWER),
                    created_at=T0,
                    mode="extractive",
                    citations=CITATIONS,
                ),
            ]
        )
        return ConversationDetail(
            id=conv.id, title=conv.title, created_at=T0, updated_at=T0, message_count=len(messages), messages=messages
        )

    async def create_conversation(self, title: str = "", document_ids: list[str] | None = None) -> Conversation:
        conv = Conversation(id=f"c{len(self.convs) + 1}", title=title, created_at=T0, updated_at=T0)
        self.convs.insert(0, conv)
        return conv

    async def rename_conversation(self, conversation_id: str, title: str) -> Conversation:
        self.calls.append(("rename", (conversation_id, title)))
        for i, c in enumerate(self.convs):
            if c.id == conversation_id:
                self.convs[i] = Conversation(id=c.id, title=title, created_at=T0, updated_at=T0)
        return next(c for c in self.convs if c.id == conversation_id)

    async def delete_conversation(self, conversation_id: str) -> None:
        self.calls.append(("delete", conversation_id))
        self.convs = [c for c in self.convs if c.id != conversation_id]

    async def ask(self, conversation_id: str, content: str, *, top_k: int = 6) -> AsyncGenerator[ChatEvent, None]:
        self.calls.append(("ask", content))
        try:
            yield Sources(conversation_id=conversation_id, query=content, citations=CITATIONS)
            for piece in ANSWER:
                if self.token_delay:
                    await asyncio.sleep(self.token_delay)
                yield Token(text=piece)
            yield Done(mode="extractive", usage=Usage(), cited=[1, 2], latency_ms=1234.0)
        finally:
            self.calls.append(("ask-closed", content))

    async def page(self, document_id: str, page: int) -> PageText:
        return PageText(document_id=document_id, page=page, page_count=3, text=PAGE)

    # documents
    async def documents(self, **kw: object) -> DocumentList:
        return DocumentList(items=list(self.docs), total=len(self.docs), limit=100, offset=0)

    async def upload(self, file: Path, title: str | None = None) -> Document:
        name = title or file.stem
        steps = [
            doc("doc-new", name, s, page_count=2, chunk_count=4, progress=p)
            for s, p in [
                ("queued", Progress()),
                ("extracting", Progress(pages_done=1, page_count=2)),
                ("embedding", Progress(pages_done=2, page_count=2, chunks_embedded=2, chunk_count=4)),
                ("ready", Progress(pages_done=2, page_count=2, chunks_embedded=4, chunk_count=4)),
            ]
        ]
        self.upload_steps = steps[1:]
        self.docs.insert(0, steps[0])
        return steps[0]

    async def document(self, document_id: str) -> Document:
        if document_id == "doc-new" and self.upload_steps:
            self.docs[0] = self.upload_steps.pop(0)
        return next(d for d in self.docs if d.id == document_id)

    async def delete_document(self, document_id: str) -> None:
        self.calls.append(("delete-doc", document_id))
        self.docs = [d for d in self.docs if d.id != document_id]

    async def reprocess(self, document_id: str) -> Document:
        self.calls.append(("reprocess", document_id))
        return doc(document_id, "Scanned invoice", "queued")

    # operators
    async def dependencies(self) -> DependencyHealth:
        return fake_ops.HEALTH

    async def metrics_summary(self) -> MetricsSummary:
        i = self.metrics_i = self.metrics_i + 1
        return MetricsSummary(
            timestamp="2024-05-01T12:00:00Z",
            window_seconds=60,
            request_rate=2.0 + (i % 5),
            error_rate=0.01 * (i % 3),
            latency_p50_ms=12,
            latency_p95_ms=40.0 + 10 * (i % 4),
            search_p95_ms=25.0 + i % 6,
            llm_p50_ms=None,
            queue_depth=i % 4,
            vectors=1234,
        )

    async def logs(
        self, filters: LogFilter | None = None, *, after_seq: int | None = None, limit: int = 200
    ) -> LogPage:
        filters = filters or LogFilter()
        self.calls.append(("logs", (filters, after_seq)))
        records = [
            r
            for r in fake_ops.LOGS
            if (after_seq is None or r.seq > after_seq)
            and (not filters.correlation_id or r.correlation_id == filters.correlation_id)
            and (not filters.document_id or r.document_id == filters.document_id)
            and (not filters.level or r.level == filters.level)
        ]
        return LogPage(records=records, last_seq=fake_ops.LOGS[-1].seq)

    async def jobs(self) -> JobsOverview:
        return fake_ops.JOBS

    async def runbooks(self) -> list[RunbookInfo]:
        return list(fake_ops.RUNBOOKS)

    async def runbook(self, runbook_id: str) -> RunbookDetail:
        info = next(r for r in fake_ops.RUNBOOKS if r.id == runbook_id)
        return RunbookDetail(
            id=info.id,
            title=info.title,
            checks=info.checks,
            fixes=info.fixes,
            params=info.params,
            markdown=f"# {info.title}\n\n## Meaning\n\nSearch misses a document.\n\n## Diagnosis\n\n"
            "1. **Document status**: is it `ready`?\n2. **Vectors**: are they indexed?\n",
        )

    async def run_runbook(self, runbook_id: str, request: RunbookRunRequest) -> RunbookRun:
        self.calls.append(("run", (runbook_id, request)))
        return fake_ops.run_result(runbook_id)

    async def fix(self, fix: str, document_id: str | None = None) -> FixResult:
        self.calls.append(("fix", (fix, document_id)))
        return FixResult(fix=fix, ok=True, detail=f"{fix} queued for {document_id}")
