"""Smoke test of the benchmark harness: every benchmark runs in `--quick` mode and reports its
figures, baseline, ratio and target. Quick sizes say nothing about performance; no figure is
judged here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops.bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_benchmark_reports_in_quick_mode(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "ops.bench", "--quick", "--generator", "python", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    results = json.loads(out.read_text())
    assert set(results) == set(BENCHMARKS)
    for name, result in results.items():
        assert f"== {name} (quick) ==" in done.stdout
        if result["skipped"]:
            continue
        assert result["checks"], f"{name} reported no target"
        for check in result["checks"]:
            assert check["value"] > 0 and check["baseline"] > 0, (name, check)
            assert check["op"] in (">=", "<=")
        assert f"{name}: " in done.stdout.split("== summary ==")[1]
    assert "PASS" in done.stdout or "MISS" in done.stdout


def test_the_harness_parses_its_options() -> None:
    from ops.bench.__main__ import parse_args

    args = parse_args(["health", "search", "--quick", "--chunks", "500"])
    assert args.names == ["health", "search"] and args.quick and args.chunks == 500
    with pytest.raises(SystemExit):
        parse_args(["no-such-benchmark"])


def test_checks_compare_ratios_and_differences() -> None:
    from ops.bench.report import Check, percentile

    assert Check("x", 90, 100, "req/s", ">=", 0.8).passed
    assert not Check("x", 70, 100, "req/s", ">=", 0.8).passed
    assert Check("t", 340, 300, "ms", "<=", 50, kind="difference").passed
    assert not Check("t", 360, 300, "ms", "<=", 50, kind="difference").passed
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([5], 99) == 5
