"""`python -m ops.bench [NAME ...]`: run benchmarks (all by default) and print their figures.

    make bench                                   # everything, full size
    make bench BENCH_ARGS="health --profile"     # one benchmark, with a cProfile of our app
    python -m ops.bench --quick --json out.json  # seconds-long smoke run, figures also as JSON
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from loguru import logger

from ops.bench.context import Context
from ops.bench.report import Report, say

BENCHMARKS: dict[str, str] = {  # name -> module with `run(ctx) -> Report`
    "health": "ops.bench.health",
    "ingest": "ops.bench.ingest",
    "search": "ops.bench.search",
    "chat-ttft": "ops.bench.chat_ttft",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ops.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, seconds per benchmark: checks the harness, not the system")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write every figure and check to FILE")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (server logs, profiles)")
    health = p.add_argument_group("health")
    health.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto",
                        help="load generator (auto: wrk when installed)")
    health.add_argument("--rounds", type=int, default=0, help="alternating rounds per app (default 5)")
    health.add_argument("--profile", action="store_true", help="also profile our app's request path (cProfile)")
    ingest = p.add_argument_group("ingest")
    ingest.add_argument("--pdfs", type=Path, metavar="DIR", help="ingest the PDFs in DIR instead of a generated set")
    ingest.add_argument("--docs", type=int, default=12, help="generated PDFs (default 12)")
    ingest.add_argument("--pages", type=int, default=25, help="pages per generated PDF (default 25)")
    search = p.add_argument_group("search")
    search.add_argument("--chunks", type=int, default=100_000, help="chunks in the search corpus (default 100,000)")
    search.add_argument("--queries", type=int, default=100, help="queries measured (default 100)")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logger.remove()  # server code used in-process (seeding, the raw index) logs only errors here
    logger.add(sys.stderr, level="ERROR")
    # Ctrl-C stops at once, wherever it lands (asyncio.run's own handler only cancels its task,
    # which a library may swallow); the `with` blocks still stop servers and PostgreSQL.
    signal.signal(signal.SIGINT, _interrupt)
    names = args.names or list(BENCHMARKS)
    workdir = Path(tempfile.mkdtemp(prefix="docman-bench-"))
    ctx = Context(args, workdir)
    reports: list[Report] = []
    failed: list[str] = []
    interrupted = False
    try:
        for name in names:
            say(f"\n== {name}{' (quick)' if args.quick else ''} ==")
            started = time.monotonic()
            runner: Callable[[Context], Report] = importlib.import_module(BENCHMARKS[name]).run
            try:
                reports.append(runner(ctx))
            except Exception:
                traceback.print_exc()
                failed.append(name)
            say(f"  ({time.monotonic() - started:.0f}s)")
    except KeyboardInterrupt:
        interrupted = True
        say("\ninterrupted: stopping servers")
    finally:
        ctx.close()
        if args.keep:
            say(f"\nscratch directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    summarise(reports, failed)
    if args.json:
        body = {r.name: r.as_dict() for r in reports} | {name: {"error": True} for name in failed}
        args.json.write_text(json.dumps(body, indent=2, default=str))
    missed = any(not r.passed for r in reports)
    if interrupted:
        return 130
    return 2 if failed else (1 if missed and args.strict else 0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def summarise(reports: list[Report], failed: list[str]) -> None:
    say("\n== summary ==")
    for report in reports:
        if report.skipped:
            say(f"  {report.name}: SKIPPED ({report.skipped})")
        for check in report.checks:
            say(f"  {report.name}: {check.describe()}")
    for name in failed:
        say(f"  {name}: ERROR (see the traceback above)")


if __name__ == "__main__":
    sys.exit(main())
