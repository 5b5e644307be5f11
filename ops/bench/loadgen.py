"""HTTP/1.1 keep-alive load: `wrk` when installed, else a small raw-socket asyncio generator.

Both run in a subprocess (pinned to the given CPUs) for a fixed duration over N connections and
report completed requests, non-2xx answers and socket errors. The Python generator is also
`python -m ops.bench.loadgen URL -c N -d SECONDS` (prints one JSON line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    non_2xx: int = 0
    errors: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def choose(generator: str) -> str:
    """`auto` -> `wrk` when installed, else `python`."""
    if generator == "auto":
        return "wrk" if have_wrk() else "python"
    if generator == "wrk" and not have_wrk():
        raise RuntimeError("wrk is not installed (apt-get install wrk), use --generator python")
    return generator


def run(generator: str, url: str, connections: int, seconds: float, cpus: Sequence[int] = ()) -> Load:
    if generator == "wrk":
        return _wrk(url, connections, seconds, cpus)
    cmd = [sys.executable, "-m", "ops.bench.loadgen", url, "-c", str(connections), "-d", str(seconds)]
    out = _pinned_run(cmd, cpus, seconds)
    return Load(**json.loads(out.strip().splitlines()[-1]))


def _pinned_run(cmd: list[str], cpus: Sequence[int], seconds: float) -> str:
    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, set(cpus))

    done = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=pin, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _wrk(url: str, connections: int, seconds: float, cpus: Sequence[int]) -> Load:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", url]
    out = _pinned_run(cmd, cpus, seconds)
    total = _WRK_TOTAL.search(out)
    if total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    non2xx = _WRK_NON2XX.search(out)
    errors = _WRK_ERRORS.search(out)
    return Load(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)],
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


# ---------------------------------------------------------------- the Python generator


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)")


class _Conn(asyncio.Protocol):
    """One keep-alive connection sending the next request as soon as a response is complete."""

    def __init__(self, request: bytes, stats: dict[str, int], stop_at: float, closed: asyncio.Future[None]) -> None:
        self.request, self.stats, self.stop_at, self.closed = request, stats, stop_at, closed
        self.buffer = b""
        self.need = -1  # bytes of the current response, once its head is parsed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.need < 0:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].lower()
                length = _CONTENT_LENGTH.search(head)
                self.need = end + 4 + (int(length.group(1)) if length else 0)
                if not head.startswith((b"http/1.1 2", b"http/1.0 2")):
                    self.stats["non_2xx"] += 1
            if len(self.buffer) < self.need:
                return
            self.buffer = self.buffer[self.need:]
            self.need = -1
            self.stats["requests"] += 1
            if time.monotonic() >= self.stop_at:
                self.transport.close()
                return
            self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if time.monotonic() < self.stop_at:
            self.stats["errors"] += 1
        if not self.closed.done():
            self.closed.set_result(None)


async def generate(url: str, connections: int, seconds: float) -> Load:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: ops.bench\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    stats = {"requests": 0, "non_2xx": 0, "errors": 0}
    started = time.monotonic()
    stop_at = started + seconds
    closed = [loop.create_future() for _ in range(connections)]
    for fut in closed:
        await loop.create_connection(lambda f=fut: _Conn(request, stats, stop_at, f), host, port)  # type: ignore[misc]
    await asyncio.wait(closed, timeout=seconds + 15)
    elapsed = time.monotonic() - started
    return Load(requests=stats["requests"], seconds=elapsed, non_2xx=stats["non_2xx"], errors=stats["errors"])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.loadgen")
    parser.add_argument("url")
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=5.0)
    args = parser.parse_args()
    try:
        import uvloop

        result = uvloop.run(generate(args.url, args.connections, args.duration))
    except ImportError:
        result = asyncio.run(generate(args.url, args.connections, args.duration))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
