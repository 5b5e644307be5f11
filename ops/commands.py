"""`docman ops ...`: the operators' guide's scripts (see docs/troubleshooting-guide.md for the map).

Each command talks to a running server as an operator: the session saved by `docman login`, or
DOCMAN_EMAIL/DOCMAN_PASSWORD (falling back to DOCMAN_ADMIN_EMAIL/DOCMAN_ADMIN_PASSWORD, which
`make run` uses) against --server / $DOCMAN_SERVER / http://127.0.0.1:8000.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ops import diagnostics as d

Runner = Callable[[Any, argparse.Namespace], Awaitable[d.Verdict]]
DEFAULT_SERVER = "http://127.0.0.1:8000"


async def _client(server: str | None) -> Any:
    from tui.client import DocmanClient
    from tui.commands import saved_client
    from tui.credentials import CredentialStore

    client = saved_client(server, CredentialStore())
    if client is not None and client.session.signed_in():
        return client
    email = os.environ.get("DOCMAN_EMAIL") or os.environ.get("DOCMAN_ADMIN_EMAIL")
    password = os.environ.get("DOCMAN_PASSWORD") or os.environ.get("DOCMAN_ADMIN_PASSWORD")
    if not (email and password):
        raise SystemExit("docman ops: not signed in: run `docman login`, or set DOCMAN_EMAIL and DOCMAN_PASSWORD")
    if client is None:
        client = DocmanClient(server or DEFAULT_SERVER)
    await client.login(email, password)
    return client


def _run(runner: Runner, needs_server: bool = True) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        from tui.errors import ClientError

        async def go() -> d.Verdict:
            client = await _client(args.server) if needs_server else None
            try:
                return await runner(client, args)
            finally:
                if client is not None:
                    await client.aclose()

        try:
            verdict = asyncio.run(go())
        except ClientError as exc:
            print(f"docman ops: {exc}", file=sys.stderr)
            return 2
        if args.json:
            sys.stdout.buffer.write(d.as_json(verdict) + b"\n")
        else:
            print(("PASS  " if verdict.ok else "FAIL  ") + verdict.summary)
            for line in verdict.lines:
                print("      " + line)
        return 0 if verdict.ok else 1

    return command


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ops = sub.add_parser("ops", help="operator commands: index checks, reprocessing, LLM tests, evaluation")
    cmds = ops.add_subparsers(dest="ops_command", required=True, metavar="OPS_COMMAND")

    def add(name: str, runner: Runner, help_text: str, *, needs_server: bool = True) -> argparse.ArgumentParser:
        p = cmds.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--server", default=None, help=f"server URL (default: $DOCMAN_SERVER or {DEFAULT_SERVER})")
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.set_defaults(func=_run(runner, needs_server))
        return p

    add("verify-faiss-index", d.verify_faiss_index,
        "Check the index file's integrity, its vector count against the database, and basic search.")
    add("check-vector-consistency", d.check_vector_consistency,
        "Compare the index's vectors with the stored chunk embeddings.")
    p = add("verify-document-vectors", d.verify_document_vectors, "Check one document's status, chunks and vectors.")
    p.add_argument("--document-id", required=True)
    p = add("reprocess-document", d.reprocess_document, "Run a document through the pipeline again and wait for it.")
    p.add_argument("--document-id", required=True)
    p.add_argument("--no-wait", action="store_true", help="return once queued")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for a terminal state")
    p = add("test-vector-search", d.test_vector_search, "Search for known text and show what comes back.")
    p.add_argument("--text", required=True)
    p.add_argument("--document-id", help="pass only if this document is among the results")
    p.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="dense")
    p.add_argument("--top-k", type=int, default=10)
    p = add("test-llm-service", d.test_llm_service, "Send one prompt to the configured LLM through the server.")
    p.add_argument("--prompt", required=True)
    p.add_argument("--max-tokens", type=int, default=64)
    p = add("estimate-token-usage", d.estimate_token_usage, "Estimate the tokens one answer to a query would use.")
    p.add_argument("--query", required=True)
    p.add_argument("--documents", type=int, default=3, help="sources to pack into the prompt")
    p = add("benchmark-vector-search", d.benchmark_vector_search, "Measure FAISS and search API latency.")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--api-queries", type=int, default=20)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--max-p95-ms", type=float, default=100.0, help="fail above this FAISS p95")
    p = add("rebuild-vector-index", d.rebuild_vector_index, "Rebuild the index from PostgreSQL, then verify it.")
    p.add_argument("--backup", action="store_true", help="keep a restorable copy of the current index files")
    p = add("restore-vector-index", d.restore_vector_index, "Restore an index backup and replay newer changes.")
    p.add_argument("--backup", required=True, help="backup name printed by rebuild-vector-index")
    p = add("test-alerts", d.test_alerts, "Fire a test alert into Alertmanager and check it arrives.",
            needs_server=False)
    p.add_argument("--alertmanager", default=os.environ.get("ALERTMANAGER_URL", "http://127.0.0.1:9093"))
    p.add_argument("--rules", action="store_true", help="also run the alert rules' unit tests with promtool")

    from ops import eval_retrieval

    eval_retrieval.register(cmds)
