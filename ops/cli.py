"""`docman`: the one command line of the system.

    docman serve                 start the API (embedded PostgreSQL when DOCMAN_DATABASE_URL is unset)
    docman worker                run ingestion workers against the configured database
    docman settings              print every DOCMAN_* variable with its default
    docman ops ...               operator commands (index checks, reprocessing, evaluation)
    docman users ...             user administration
    docman chat / console        the terminal apps
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def _load_settings():  # noqa: ANN202 - typed at the call sites
    from server.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        print(f"docman: invalid setting {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from server.serve import serve

    settings = _load_settings()
    return serve(settings, host=args.host, port=args.port)


def cmd_worker(args: argparse.Namespace) -> int:
    from server.worker_main import run_worker

    settings = _load_settings()
    return run_worker(settings, concurrency=args.concurrency)


def cmd_settings(args: argparse.Namespace) -> int:
    from server.settings import settings_table

    print(settings_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docman", description="Document management and AI chatbot system.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="start the API server (and embedded database and workers by default)")
    p.add_argument("--host", default=None, help="override DOCMAN_HOST")
    p.add_argument("--port", type=int, default=None, help="override DOCMAN_PORT")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run ingestion workers (needs DOCMAN_DATABASE_URL or a running `serve`)")
    p.add_argument("--concurrency", type=int, default=None, help="override DOCMAN_WORKER_CONCURRENCY")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("settings", help="list every DOCMAN_* setting with its default")
    p.set_defaults(func=cmd_settings)

    for register in _plugins():
        register(sub)
    return parser


def _plugins() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    """Subcommand groups defined next to their code."""
    from ops.commands import register as register_ops
    from ops.users_cli import register as register_users
    from tui.commands import register as register_tui

    return [register_ops, register_users, register_tui]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
