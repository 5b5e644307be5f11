"""What one `python -m ops.bench` run shares between benchmarks: options, a scratch directory and
one private PostgreSQL (started on first use; each benchmark makes its own database on it)."""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from ops.bench.report import say
from ops.bench.services import Postgres, postgres


@dataclass
class Context:
    args: argparse.Namespace
    workdir: Path
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _pg: Postgres | None = None

    def pg(self) -> Postgres:
        if self._pg is None:
            say("  starting a private PostgreSQL (pgserver) ...")
            self._pg = self._stack.enter_context(postgres())
        return self._pg

    def close(self) -> None:
        self._stack.close()
