"""Logging: loguru, one line per event, with service, correlation_id and document_id on every line.

Context comes from context variables set by the request middleware and the worker, so every
line written while serving a request carries `correlation_id=<id>` (the guide's Loki query
`{} |= "correlation_id=abc123"` finds it, in plain and JSON mode alike). A bounded ring of recent
records feeds the operator console.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec
from loguru import logger

correlation_id_var: ContextVar[str] = ContextVar("correlation_id", default="-")
document_id_var: ContextVar[str | None] = ContextVar("document_id", default=None)
service_var: ContextVar[str] = ContextVar("service", default="api")

PLAIN_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {extra[tags]} | {message}"


class LogRecord(msgspec.Struct, kw_only=True):
    seq: int
    timestamp: str
    level: str
    service: str
    correlation_id: str
    document_id: str | None
    message: str


class LogRing:
    """The most recent records, newest last, with live subscribers."""

    def __init__(self, size: int) -> None:
        self.records: deque[LogRecord] = deque(maxlen=size)
        self._seq = itertools.count(1)
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[LogRecord]]] = set()

    def append(self, message: Any) -> None:
        """A loguru sink (`logger.add(ring.append, format="{message}")`)."""
        rec = message.record
        self.add(rec, _stamps(rec["time"])[1])

    def add(self, rec: Any, timestamp: str) -> None:
        """Keep one patched loguru record, its UTC time already formatted."""
        extra = rec["extra"]
        item = LogRecord(
            seq=next(self._seq),
            timestamp=timestamp,
            level=rec["level"].name,
            service=extra["service"],
            correlation_id=extra["correlation_id"],
            document_id=extra["document_id"],
            message=rec["message"],
        )
        self.records.append(item)
        if self._subscribers:
            for loop, queue in list(self._subscribers):
                try:
                    loop.call_soon_threadsafe(_offer, queue, item)
                except RuntimeError:  # loop closed
                    self._subscribers.discard((loop, queue))

    def query(
        self,
        *,
        limit: int = 200,
        after_seq: int | None = None,
        level: str | None = None,
        service: str | None = None,
        correlation_id: str | None = None,
        document_id: str | None = None,
        contains: str | None = None,
    ) -> list[LogRecord]:
        min_no = logger.level(level.upper()).no if level else 0
        out = [
            r
            for r in list(self.records)
            if r.seq > (after_seq or 0)
            and (not level or logger.level(r.level).no >= min_no)
            and (not service or r.service == service)
            and (not correlation_id or r.correlation_id == correlation_id)
            and (not document_id or r.document_id == document_id)
            and (not contains or contains.lower() in r.message.lower())
        ]
        # Tailing (after_seq given): the oldest lines after it, so a poller never skips any;
        # otherwise the most recent ones.
        return out[:limit] if after_seq is not None else out[-limit:]

    @contextmanager
    def subscribe(self, maxsize: int = 1000) -> Iterator[asyncio.Queue[LogRecord]]:
        queue: asyncio.Queue[LogRecord] = asyncio.Queue(maxsize)
        key = (asyncio.get_running_loop(), queue)
        self._subscribers.add(key)
        try:
            yield queue
        finally:
            self._subscribers.discard(key)


def _offer(queue: asyncio.Queue[LogRecord], item: LogRecord) -> None:
    if not queue.full():
        queue.put_nowait(item)


def _patch(record: Any) -> None:
    extra = record["extra"]
    service = extra.setdefault("service", service_var.get())
    cid = extra.setdefault("correlation_id", correlation_id_var.get())
    doc = extra.get("document_id") or document_id_var.get()
    extra["document_id"] = doc
    extra["tags"] = (f"service={service} correlation_id={cid} document_id={doc}" if doc
                     else f"service={service} correlation_id={cid}")


_stamp_cache: tuple[Any, str, str] = (None, "", "")


def _stamps(t: datetime) -> tuple[str, str]:
    """`t` as the plain line's local `YYYY-MM-DD HH:mm:ss.SSS` and as UTC ISO 8601 with milliseconds.

    The part down to the second is formatted once per second: this runs for every line.
    """
    global _stamp_cache
    key = (t.second, t.minute, t.hour, t.day, t.month, t.year, t.utcoffset())
    cached, local, utc = _stamp_cache
    if key != cached:
        local = t.strftime("%Y-%m-%d %H:%M:%S")
        utc = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _stamp_cache = (key, local, utc)
    ms = t.microsecond // 1000
    return f"{local}.{ms:03d}", f"{utc}.{ms:03d}+00:00"


class _Sinks:
    """Stderr (plain or JSON lines) and the ring behind one loguru handler.

    Each record's time is formatted once and shared; the plain line has the layout of
    `PLAIN_FORMAT` without loguru formatting it, and nothing is colorized.
    """

    def __init__(self, ring: LogRing, stderr_level: int, ring_level: int, json: bool, stream: Any = None) -> None:
        self.ring, self.stderr_level, self.ring_level, self.json = ring, stderr_level, ring_level, json
        self.stream = stream  # None: whatever sys.stderr is when a line is written

    def __call__(self, message: Any) -> None:
        rec = message.record
        no = rec["level"].no
        local, utc = _stamps(rec["time"])
        if no >= self.stderr_level:
            (self.stream or sys.stderr).write(_json_line(rec, utc) if self.json else _plain_line(rec, local))
        if no >= self.ring_level:
            self.ring.add(rec, utc)


def _plain_line(rec: Any, local: str) -> str:
    line = f"{local} | {rec['level'].name: <8} | {rec['extra']['tags']} | {rec['message']}\n"
    if rec["exception"] is not None:
        line += "".join(_format_exception(rec["exception"]))
    return line


def _json_line(rec: Any, utc: str) -> str:
    extra = rec["extra"]
    body: dict[str, Any] = {
        "timestamp": utc,
        "level": rec["level"].name,
        "service": extra["service"],
        "correlation_id": extra["correlation_id"],
        "document_id": extra["document_id"],
        "message": rec["message"],
        "logger": rec["name"],
        "tags": extra["tags"],
    }
    if rec["exception"] is not None:
        body["exception"] = "".join(_format_exception(rec["exception"]))
    return msgspec.json.encode(body).decode() + "\n"


def _format_exception(exc: Any) -> list[str]:
    import traceback

    return traceback.format_exception(exc.type, exc.value, exc.traceback)


def _message_only(record: Any) -> str:
    return "{message}"  # a callable format: loguru neither colorizes nor appends the traceback


class _InterceptHandler(logging.Handler):
    """Send stdlib logging (uvicorn, litestar, psycopg) through loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage().rstrip())


_ring: LogRing | None = None
_debug_on = False  # whether configure_logging installed a sink that takes DEBUG


def configure_logging(level: str = "INFO", json: bool = False, ring_size: int = 5000) -> LogRing:
    """Install the sinks once per process (again on a new call, e.g. in tests); return the ring."""
    global _ring, _debug_on
    logger.remove()
    logger.configure(patcher=_patch)
    _ring = LogRing(ring_size)
    stderr_level = logger.level(level).no
    ring_level = logger.level("DEBUG" if level in {"TRACE", "DEBUG"} else "INFO").no
    logger.add(_Sinks(_ring, stderr_level, ring_level, json), level=min(stderr_level, ring_level),
               format=_message_only)
    _debug_on = min(stderr_level, ring_level) <= logger.level("DEBUG").no
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = [_InterceptHandler()]
        logging.getLogger(name).propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs each request once
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its INFO lines echo every pg_ctl call
    return _ring


def debug_enabled() -> bool:
    """Whether DEBUG lines go anywhere: hot paths skip building ones that would be dropped."""
    return _debug_on


def log_ring() -> LogRing:
    """The ring installed by `configure_logging` (one is made on first use otherwise)."""
    global _ring
    if _ring is None:
        _ring = LogRing(5000)
        logger.configure(patcher=_patch)
        logger.add(_ring.append, level="INFO", format="{message}")
    return _ring


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
