"""`docman users create|list|disable|enable|reset-password`: user administration without a server.

Connects with DOCMAN_DATABASE_URL, or joins the embedded PostgreSQL under the data directory,
and applies pending migrations first. Changes reach running servers within seconds (their token
cache is short-lived). Passwords are never taken as arguments (they would show in `ps`): pass
`--password-stdin`, or let one be generated and printed once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg


def _read_password(args: argparse.Namespace) -> str | None:
    if not getattr(args, "password_stdin", False):
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise SystemExit("docman users: --password-stdin given but no password on standard input")
    return line


def _run(action: Callable[[psycopg.AsyncConnection, Any], Awaitable[int]], args: argparse.Namespace) -> int:
    from server.db.migrate import migrate
    from server.errors import AppError
    from server.logs import configure_logging
    from server.serve import database
    from server.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"docman: invalid setting {exc}", file=sys.stderr)
        return 2
    configure_logging("WARNING", json=settings.log.json, ring_size=100)  # the command's output is its answer

    async def go(conninfo: str) -> int:
        await migrate(conninfo)
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            async with conn.transaction():
                return await action(conn, settings)

    with database(settings) as conninfo:
        try:
            return asyncio.run(go(conninfo))
        except AppError as exc:
            print(f"docman users: {exc.message}", file=sys.stderr)
            return 1


def _show_password(email: str, password: str | None) -> None:
    if password:
        print(f"Generated password for {email}: {password}\n(shown once; change it with `docman users reset-password`)")


def cmd_create(args: argparse.Namespace) -> int:
    from server import users

    password = _read_password(args)

    async def action(conn: psycopg.AsyncConnection, _: Any) -> int:
        result = await users.create_user(conn, args.email, args.role, password)
        print(f"created {result.user.email} ({result.user.role}), id {result.user.id}")
        _show_password(result.user.email, result.password)
        return 0

    return _run(action, args)


def _status(disabled: bool, locked_until: datetime | None) -> str:
    if disabled:
        return "disabled"
    if locked_until is not None and locked_until > datetime.now(UTC):
        return f"locked until {locked_until.astimezone(UTC):%Y-%m-%d %H:%M}Z"
    return "active"


def cmd_list(args: argparse.Namespace) -> int:
    from server import users

    async def action(conn: psycopg.AsyncConnection, _: Any) -> int:
        listing = await users.list_users(conn)
        if args.json:
            import msgspec

            print(msgspec.json.encode(listing).decode())
            return 0
        width = max([len(u.email) for u in listing.items] + [5])
        print(f"{'EMAIL':<{width}}  {'ROLE':<8}  {'STATUS':<26}  CREATED")
        for u in listing.items:
            created = f"{u.created_at.astimezone(UTC):%Y-%m-%d}" if u.created_at else ""
            print(f"{u.email:<{width}}  {u.role:<8}  {_status(u.disabled, u.locked_until):<26}  {created}")
        return 0

    return _run(action, args)


def _set_disabled(disabled: bool) -> Callable[[argparse.Namespace], int]:
    def cmd(args: argparse.Namespace) -> int:
        from server import users

        async def action(conn: psycopg.AsyncConnection, settings: Any) -> int:
            target = await users.find(conn, args.user)
            user, revoked = await users.set_disabled(conn, target.id, disabled, actor=None,
                                                     access_ttl=settings.auth.access_ttl_seconds)
            what = f"disabled ({len(revoked)} sessions ended)" if disabled else "enabled and unlocked"
            print(f"{user.email}: {what}")
            return 0

        return _run(action, args)

    return cmd


def cmd_reset_password(args: argparse.Namespace) -> int:
    from server import users

    password = _read_password(args)

    async def action(conn: psycopg.AsyncConnection, settings: Any) -> int:
        target = await users.find(conn, args.user)
        result, revoked = await users.reset_password(conn, target.id, password,
                                                     access_ttl=settings.auth.access_ttl_seconds)
        print(f"{result.user.email}: password reset, account unlocked, {len(revoked)} sessions ended")
        _show_password(result.user.email, result.password)
        return 0

    return _run(action, args)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `docman users ...` to the top-level parser."""
    parser = subparsers.add_parser("users", help="user administration (create, list, disable, reset-password)")
    sub = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    p = sub.add_parser("create", help="create an account")
    p.add_argument("email")
    p.add_argument("--role", choices=("user", "operator", "admin"), default="user")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input "
                   "(otherwise one is generated and printed once)")
    p.set_defaults(func=cmd_create)

    p = sub.add_parser("list", help="list accounts with role and status")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("disable", help="disable an account and end its sessions")
    p.add_argument("user", help="email or id")
    p.set_defaults(func=_set_disabled(True))

    p = sub.add_parser("enable", help="enable an account (also unlocks one locked by failed sign-ins)")
    p.add_argument("user", help="email or id")
    p.set_defaults(func=_set_disabled(False))

    p = sub.add_parser("reset-password", help="set a new password, unlock, end every session")
    p.add_argument("user", help="email or id")
    p.add_argument("--password-stdin", action="store_true", help="read the new password from standard input "
                   "(otherwise one is generated and printed once)")
    p.set_defaults(func=cmd_reset_password)
