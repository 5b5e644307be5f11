"""Shared helpers of the ops configuration checks: paths, loaders, and optional tools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
RUNBOOKS = OPS / "runbooks"
SECTIONS = ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation")

_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_all_yaml(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def compose() -> dict[str, Any]:
    return load_yaml(ROOT / "compose.yaml")


def volume_sources(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume of a compose service, short or long syntax."""
    out = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            out.append((volume["source"], volume["target"]))
        else:
            source, target = volume.split(":")[:2]
            out.append((source, target))
    return out


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` with an empty environment: the default."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", value)


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    if not text.startswith("---\n"):
        return None, text
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]), text[end + 5 :]


def tool(name: str) -> str:
    """The path of an optional command-line tool, or skip the test saying how to get it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: apt-get install prometheus prometheus-alertmanager)")
    return path


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def prometheus_exprs_of_dashboards() -> list[tuple[str, str]]:
    """(dashboard/panel, PromQL) of every Prometheus target of every dashboard."""
    import json

    out = []
    for path in sorted((OPS / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                if target.get("datasource", panel.get("datasource", {})).get("type") == "prometheus":
                    out.append((f"{path.name}/{panel['title']}", target["expr"]))
    return out
