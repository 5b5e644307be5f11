"""What every benchmark needs: a private PostgreSQL, fresh databases, servers in subprocesses
(started by `ops.bench.runner`, optionally pinned to CPUs), readiness waits and a signed-in client."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from psycopg.conninfo import make_conninfo

from shared import routes

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-password-123"
JWT_SECRET = "bench-jwt-secret-" + "x" * 32
_counter = itertools.count(1)


@dataclass
class Postgres:
    """A private pgserver under a temporary directory; `database()` makes a fresh database on it."""

    admin_url: str
    directory: Path

    def database(self, prefix: str) -> str:
        name = f"bench_{prefix}_{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return make_conninfo(self.admin_url, dbname=name)


@contextmanager
def postgres() -> Iterator[Postgres]:
    import pgserver

    directory = Path(tempfile.mkdtemp(prefix="docman-bench-pg-"))
    server = pgserver.get_server(directory, cleanup_mode="delete")
    try:
        yield Postgres(server.get_uri(), directory)
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_env(data_dir: Path, conninfo: str, **overrides: str) -> dict[str, str]:
    """The environment of our app in a benchmark: production defaults except what a benchmark needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCMAN_")}
    env.update({
        "DOCMAN_DATA_DIR": str(data_dir),
        "DOCMAN_DATABASE_URL": conninfo,
        "DOCMAN_ADMIN_EMAIL": ADMIN_EMAIL,
        "DOCMAN_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DOCMAN_JWT_SECRET": JWT_SECRET,
        "DOCMAN_ACCESS_TOKEN_TTL": "14400",  # long runs must not lose their token
        "DOCMAN_EMBEDDED_WORKERS": "0",
    })
    env.update(overrides)
    return env


@dataclass
class Server:
    """A server subprocess (`python -m ops.bench.runner KIND`); its output goes to `log`."""

    kind: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]
    extra: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_http(self, path: str, timeout: float = 120.0, status: int = 200) -> None:
        """Poll `path` until it answers `status`; fail with the log's tail if the process dies."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    raise RuntimeError(f"{self.kind} server exited ({self.process.returncode}):\n{self.tail()}")
                try:
                    if client.get(self.url + path).status_code == status:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise TimeoutError(f"{self.kind} server not ready on {path} within {timeout:g}s:\n{self.tail()}")

    def wait_ready(self, timeout: float = 180.0) -> None:
        self.wait_http(routes.HEALTH_READY if self.kind == "ours" else routes.HEALTH_LIVE, timeout)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_server(
    kind: str,
    log: Path,
    *,
    env: dict[str, str] | None = None,
    cpus: Sequence[int] | None = None,
    args: Sequence[str] = (),
) -> Server:
    """Start `ops.bench.runner KIND` on a free port, stdout and stderr to the file `log`."""
    port = free_port()
    cmd = [sys.executable, "-m", "ops.bench.runner", kind, "--port", str(port), *args]
    if cpus:
        cmd += ["--cpus", ",".join(map(str, cpus))]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env or dict(os.environ), cwd=_repo_root())
    return Server(kind, port, log, process, list(args))


@contextmanager
def running(kind: str, log: Path, **kwargs: object) -> Iterator[Server]:
    server = start_server(kind, log, **kwargs)  # type: ignore[arg-type]
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def sign_in(base_url: str) -> dict[str, str]:
    """Authorization headers for the benchmark's admin."""
    r = httpx.post(base_url + routes.AUTH_TOKEN, json={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def cpu_split() -> tuple[list[int], list[int]]:
    """(server CPUs, load generator CPUs): one core each when there are two or more."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return cpus, cpus
    return [cpus[0]], cpus[1:2]


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
