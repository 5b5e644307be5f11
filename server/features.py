"""The one place that wires each feature into the app: its route handlers and its startup steps."""

from __future__ import annotations

from typing import Any

from litestar.di import Provide

from server import deps, gauges
from server.api import auth, chat, collections, documents, openai_compat, ops, search, users
from server.auth.bootstrap import ensure_admin
from server.auth.startup import start_auth
from server.chat.startup import start_chat
from server.rag.index_keeper import load_embedder, open_index
from server.runtime import Runtime
from server.worker import Worker


def handlers() -> list[Any]:
    return [*auth.HANDLERS, *users.HANDLERS, *collections.HANDLERS, *documents.HANDLERS, *search.HANDLERS, *ops.HANDLERS,
            *chat.HANDLERS, *openai_compat.HANDLERS]


def dependencies() -> dict[str, Provide]:
    return {
        "rt": Provide(deps.provide_rt),
        "caller": Provide(deps.provide_caller),
        "viewer": Provide(deps.provide_viewer),
    }


async def start_llm(rt: Runtime) -> None:
    if rt.settings.llm.configured:
        from server.rag.llm import LLMClient

        rt.llm = LLMClient(rt.settings.llm)

        async def close(rt: Runtime) -> None:
            await rt.llm.close()

        rt.on_shutdown(close)


async def start_embedded_workers(rt: Runtime) -> None:
    count = rt.settings.server.embedded_workers
    if count < 1:
        return
    embedder = await load_embedder(rt)

    async def on_ready(_: str) -> None:
        if rt.index is not None:
            await rt.index.sync(rt.pool)

    worker = Worker(rt.pool, rt.store, embedder, rt.settings.ingest, rt.settings.data_dir / "tmp" / "work",
                    on_ready=on_ready)
    rt.extras["worker"] = worker
    rt.spawn(worker.run(count * rt.settings.ingest.worker_concurrency), "embedded-workers")


async def start_sampler(rt: Runtime) -> None:
    from server.ops.summary import Sampler

    sampler = Sampler()
    rt.extras["sampler"] = sampler
    rt.spawn(sampler.run(), "metrics-sampler")


def install(rt: Runtime) -> None:
    """Register each feature's startup steps on the runtime, in dependency order."""
    rt.on_startup("auth", start_auth)
    rt.on_startup("admin", ensure_admin)
    rt.on_startup("llm", start_llm)
    rt.on_startup("chat", start_chat)
    rt.on_startup("vector index", open_index)
    rt.on_startup("workers", start_embedded_workers)
    rt.on_startup("gauges", gauges.start)
    rt.on_startup("metrics sampler", start_sampler)
