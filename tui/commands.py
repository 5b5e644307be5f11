"""`docman chat`, `docman console`, `docman login` and `docman logout`: `register(subparsers)`.

Where the server is: `--server`, else $DOCMAN_SERVER, else the server of the saved session, else
the sign-in screen asks (default http://127.0.0.1:8000). A saved session is used only for the
server it was made on.

`docman chat --local` starts `docman serve` as a child process (same environment, a free port on
127.0.0.1) and stops it on exit. It signs in as DOCMAN_ADMIN_EMAIL with DOCMAN_ADMIN_PASSWORD when
that is set; otherwise the sign-in screen asks. Its tokens are kept in memory only.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from tui.client import DocmanClient
from tui.credentials import CredentialStore, normalize_url
from tui.errors import ClientError

DEFAULT_SERVER = "http://127.0.0.1:8000"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("chat", help="chat with your documents in the terminal")
    p.add_argument("--server", help="server URL (default: $DOCMAN_SERVER or the saved session's)")
    p.add_argument("--local", action="store_true", help="run `docman serve` in the background for this session")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("console", help="the operator console: health, metrics, logs, jobs, runbooks")
    p.add_argument("--server", help="server URL (default: $DOCMAN_SERVER or the saved session's)")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("login", help="sign in and save the session for `docman chat` and `docman console`")
    p.add_argument("--server", help=f"server URL (default: $DOCMAN_SERVER or {DEFAULT_SERVER})")
    p.add_argument("--email", help="account email (prompted when missing)")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("logout", help="revoke the saved session and delete it")
    p.set_defaults(func=cmd_logout)


def _server(arg: str | None, store: CredentialStore) -> str:
    saved = store.load()
    return normalize_url(arg or os.environ.get("DOCMAN_SERVER", "") or (saved.server if saved else ""))


def saved_client(server_arg: str | None, store: CredentialStore | None = None) -> DocmanClient | None:
    """A client for the chosen server with the saved session when it belongs to that server."""
    store = store or CredentialStore()
    server = _server(server_arg, store)
    if not server:
        return None
    return DocmanClient(server, session=store.load(), store=store)


def _run(app_class: type, client: DocmanClient | None, store: CredentialStore | None, **kw: object) -> int:
    def connect(url: str) -> DocmanClient:
        return DocmanClient(url, store=store)

    kw.setdefault("server", client.base_url if client else DEFAULT_SERVER)
    app = app_class(client, connect=connect, **kw)
    app.run()
    return int(app.return_code or 0)


def cmd_chat(args: argparse.Namespace) -> int:
    from tui.chat.app import ChatApp

    if not args.local:
        store = CredentialStore()
        return _run(ChatApp, saved_client(args.server, store), store)
    from tui.local import LocalServer, LocalServerError

    print("Starting the local server (docman serve)…", file=sys.stderr)
    try:
        with LocalServer() as server:
            email = os.environ.get("DOCMAN_ADMIN_EMAIL", "admin@example.com")
            password = os.environ.get("DOCMAN_ADMIN_PASSWORD", "")
            auto = (email, password) if password else None
            notice = (
                ""
                if auto
                else (
                    "Set DOCMAN_ADMIN_EMAIL and DOCMAN_ADMIN_PASSWORD to sign in automatically "
                    "with --local, or sign in here."
                )
            )
            return _run(
                ChatApp, DocmanClient(server.url), None, server=server.url, email=email, auto_login=auto, notice=notice
            )
    except LocalServerError as exc:
        print(f"docman chat --local: {exc}", file=sys.stderr)
        return 1


def cmd_console(args: argparse.Namespace) -> int:
    from tui.console.app import ConsoleApp

    store = CredentialStore()
    return _run(ConsoleApp, saved_client(args.server, store), store)


def cmd_login(args: argparse.Namespace) -> int:
    store = CredentialStore()
    server = _server(args.server, store) or DEFAULT_SERVER
    email = args.email or input(f"Email for {server}: ").strip()
    password = os.environ.get("DOCMAN_PASSWORD") or getpass.getpass(f"Password for {email}: ")

    async def login() -> str:
        client = DocmanClient(server, store=store)
        try:
            await client.login(email, password)
            user = await client.me()
            return f"{user.email} ({user.role})"
        finally:
            await client.aclose()

    try:
        who = asyncio.run(login())
    except ClientError as exc:
        print(f"docman login: {exc}", file=sys.stderr)
        return 1
    print(f"Signed in to {server} as {who}; session saved to {store.file}")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    store = CredentialStore()
    saved = store.load()
    if saved is None:
        print("Not signed in.")
        return 0

    async def logout() -> None:
        client = DocmanClient(saved.server, session=saved, store=store)
        try:
            await client.logout()
        finally:
            await client.aclose()

    asyncio.run(logout())
    print(f"Signed out of {saved.server}; removed {store.file}")
    return 0
