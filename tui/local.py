"""`docman chat --local`: run `docman serve` as a child process for the length of the session.

The child gets this process's environment (so the same DOCMAN_* settings and data directory), a
free port on 127.0.0.1, and writes its output to `$XDG_STATE_HOME/docman/local-server.log`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from shared import routes
from tui.credentials import state_dir


class LocalServerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """`with LocalServer() as server:` starts the API, waits until ready, and stops it on exit."""

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        ready_timeout: float = 180.0,
        log_path: Path | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.host = host
        self.port = port or int(os.environ.get("DOCMAN_LOCAL_PORT", "0")) or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.ready_timeout = ready_timeout
        self.log_path = log_path or state_dir() / "local-server.log"
        self.command = command or [sys.executable, "-m", "ops.cli", "serve", "--host", host, "--port", str(self.port)]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the child for its lifetime
        try:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
                start_new_session=True,
            )
        finally:
            log.close()
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise LocalServerError(f"`docman serve` exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + routes.HEALTH_READY, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise LocalServerError(f"`docman serve` was not ready after {self.ready_timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:]) + f"\n(full log: {self.log_path})"

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
