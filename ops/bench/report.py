"""What a benchmark reports: figures (printed as they are measured) and checks against targets."""

from __future__ import annotations

import statistics
import sys
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    """One target: `value` compared with `baseline`, as a ratio (value / baseline) or a difference."""

    name: str
    value: float
    baseline: float
    unit: str
    op: str  # ">=" or "<="
    limit: float
    kind: str = "ratio"  # "ratio" | "difference"

    @property
    def measure(self) -> float:
        if self.kind == "difference":
            return self.value - self.baseline
        return self.value / self.baseline if self.baseline else float("inf")

    @property
    def passed(self) -> bool:
        return self.measure >= self.limit if self.op == ">=" else self.measure <= self.limit

    def describe(self) -> str:
        if self.kind == "difference":
            got, want = f"overhead {self.measure:+.1f} {self.unit}", f"{self.op} {self.limit:g} {self.unit}"
        else:
            got, want = f"ratio {self.measure:.2f}x", f"{self.op} {self.limit:g}x"
        return (f"{self.name}: {_num(self.value)} vs baseline {_num(self.baseline)} {self.unit}; "
                f"{got} (target {want}) {'PASS' if self.passed else 'MISS'}")


@dataclass
class Report:
    """Collects one benchmark's figures and checks; `figure` prints each line at once."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def figure(self, key: str, value: Any, unit: str = "", label: str | None = None) -> None:
        self.figures[key] = value
        shown = _num(value) if isinstance(value, (int, float)) else str(value)
        say(f"  {label or key}: {shown}{' ' + unit if unit else ''}")

    def note(self, text: str) -> None:
        self.notes.append(text)
        say(f"  note: {text}")

    def check(self, check: Check) -> None:
        self.checks.append(check)
        say(f"  >> {check.describe()}")

    def skip(self, reason: str) -> None:
        self.skipped = reason
        say(f"  SKIPPED: {reason}")

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "figures": self.figures,
            "checks": [{**asdict(c), "measure": c.measure, "passed": c.passed} for c in self.checks],
            "notes": self.notes,
            "skipped": self.skipped,
        }


def say(text: str) -> None:
    print(text, flush=True)


def warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _num(value: float) -> str:
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0..100) with linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
