"""`health`: GET /api/v1/health/live requests/s of our full app against a bare Litestar app.

Both run under the same uvicorn options (ops.bench.runner) pinned to one core, the load generator
on another; rounds alternate bare, ours, bare, ours ... and the medians are compared. The load
generator's own ceiling (against a trivial raw asyncio server) is printed first: it must be far
above both, or the figures measure the generator. Target: ours >= 0.8 x bare.
"""

from __future__ import annotations

import pstats
from pathlib import Path

from ops.bench import loadgen
from ops.bench.context import Context
from ops.bench.report import Check, Report, median, say
from ops.bench.services import app_env, cpu_split, running
from shared import routes

TARGET = 0.8


def run(ctx: Context) -> Report:
    report = Report("health")
    quick = ctx.args.quick
    rounds, seconds, connections = (1, 1.0, 16) if quick else (ctx.args.rounds or 5, 8.0, 32)
    generator = loadgen.choose(ctx.args.generator)
    server_cpus, load_cpus = cpu_split()
    report.figure("generator", generator)
    report.figure("setup", f"{rounds} rounds x {seconds:g}s per app, {connections} connections, "
                           f"server on CPU {server_cpus}, generator on CPU {load_cpus}")
    path = routes.HEALTH_LIVE
    conninfo = ctx.pg().database("health")
    env = app_env(ctx.workdir / "health-data", conninfo)
    logs = ctx.workdir / "logs"

    with running("trivial", logs / "health-trivial.log", cpus=server_cpus) as trivial:
        ceiling = loadgen.run(generator, trivial.url + path, connections, seconds, load_cpus)
    report.figure("generator_ceiling_rps", ceiling.rps, "req/s", "generator ceiling (trivial server)")

    with (running("bare", logs / "health-bare.log", cpus=server_cpus) as bare,
          running("ours", logs / "health-ours.log", env=env, cpus=server_cpus) as ours):
        for server in (bare, ours):  # warm-up, not counted
            loadgen.run(generator, server.url + path, connections, 1.0, load_cpus)
        rates: dict[str, list[float]] = {"bare": [], "ours": []}
        cpu_us: dict[str, list[float]] = {"bare": [], "ours": []}  # server CPU per request: robust to noise
        for i in range(rounds):
            for server in (bare, ours):
                cpu_before = server.cpu_seconds()
                load = loadgen.run(generator, server.url + path, connections, seconds, load_cpus)
                cpu_us[server.kind].append((server.cpu_seconds() - cpu_before) / max(1, load.requests) * 1e6)
                if load.non_2xx or load.errors:
                    report.note(f"{server.kind} round {i + 1}: {load.non_2xx} non-2xx, {load.errors} socket errors")
                rates[server.kind].append(load.rps)
            say(f"  round {i + 1}: bare {rates['bare'][-1]:,.0f} req/s ({cpu_us['bare'][-1]:.0f} us CPU/request), "
                f"ours {rates['ours'][-1]:,.0f} req/s ({cpu_us['ours'][-1]:.0f} us CPU/request)")

    bare_rps, ours_rps = median(rates["bare"]), median(rates["ours"])
    report.figure("bare_rps", bare_rps, "req/s", "bare Litestar (median)")
    report.figure("ours_rps", ours_rps, "req/s", "our app (median)")
    report.figure("rounds", {"bare": [round(r) for r in rates["bare"]], "ours": [round(r) for r in rates["ours"]]})
    bare_cpu, ours_cpu = median(cpu_us["bare"]), median(cpu_us["ours"])
    report.figure("bare_cpu_us_per_request", bare_cpu, "us", "bare: server CPU per request (median)")
    report.figure("ours_cpu_us_per_request", ours_cpu, "us", "ours: server CPU per request (median)")
    report.figure("cpu_ratio", bare_cpu / ours_cpu if ours_cpu else 0.0, "",
                  "CPU-bound throughput ratio (bare CPU / ours CPU per request; less noisy than req/s)")
    if ceiling.rps < 2 * bare_rps:
        report.note("the load generator reaches less than 2x the bare app's rate: it may be the bottleneck")
    report.check(Check("health/live req/s, ours vs bare", ours_rps, bare_rps, "req/s", ">=", TARGET))
    if ctx.args.profile:
        profile(ctx, env, generator, path, connections, max(seconds, 5.0), server_cpus, load_cpus)
    return report


def profile(ctx: Context, env: dict[str, str], generator: str, path: str, connections: int, seconds: float,
            server_cpus: list[int], load_cpus: list[int]) -> None:
    """Run our app under cProfile for one round and print where the time goes."""
    out = ctx.workdir / "health-ours.prof"
    with running("ours", ctx.workdir / "logs" / "health-ours-profiled.log", env=env, cpus=server_cpus,
                 args=["--profile", str(out)]) as ours:
        load = loadgen.run(generator, ours.url + path, connections, seconds, load_cpus)
    say(f"  profiled round: {load.rps:,.0f} req/s (cProfile slows everything down); stats in {out}")
    print_profile(out)


def print_profile(path: Path, top: int = 25) -> None:
    stats = pstats.Stats(str(path))
    stats.strip_dirs()
    for key in ("tottime", "cumulative"):
        say(f"  -- top {top} functions by {key} --")
        stats.sort_stats(key).print_stats(top)
