"""Structured JSON logs on stdout, one object per line, for every process.

Every line written while a request or an event is being handled carries its ids: the
gateway's ``request_id`` (which services receive as ``X-Request-ID`` and events carry as their
``correlation_id``), and for an event being applied its ``event_id`` and ``correlation_id``, so
one user action can be followed through every service's log."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}

_log_context: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Add ``ids`` (those not None) to every log line written inside the block."""
    token = _log_context.set(
        {**_log_context.get(), **{k: v for k, v in ids.items() if v is not None}}
    )
    try:
        yield
    finally:
        _log_context.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_log_context.get())
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request's full URL at INFO, query included (the notification stream
    # takes a token there), so only its warnings are kept.
    for noisy in ("aiokafka", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel("WARNING")


ACCESS_LOG = logging.getLogger("hackathon.http")
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def log_access(method: str, path: str, status: int, started: float) -> None:
    """One access line per request (health checks and scrapes left out); ``started`` is the
    request's ``time.perf_counter()`` at arrival. The path only: query strings may hold a
    token."""
    if path in QUIET_PATHS:
        return
    ACCESS_LOG.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={"status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
