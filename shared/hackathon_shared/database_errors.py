"""What a database error means for the one who asked: busy (a lock was held past the bound:
try again at once), unavailable (the database cannot be reached or cannot write: try again
later), or neither (a bug, a constraint: not for the client to retry).

Both kinds roll the transaction back, so an answer built from them may say "nothing was
changed". SQLAlchemy is looked up, not imported: the gateway shares the problem handlers and
never loads it (docs/benchmarks.md, the gateway's footprint)."""

from __future__ import annotations

import sys
import traceback
from typing import Literal

Trouble = Literal["busy", "unavailable"]

# SQLSTATEs (PostgreSQL, appendix A). Busy: lock not available (lock_timeout), deadlock,
# serialization failure. Unavailable: connection exceptions (08), insufficient resources
# (53), operator intervention such as a shutdown or a server starting (57), a read-only
# transaction or server (25006), an I/O error (58030).
_BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57"})
_UNAVAILABLE_SQLSTATES = frozenset({"25006", "58030"})

# SQLite's messages (its result codes are not exposed by the sqlite3 module before 3.11's
# sqlite_errorcode, and aiosqlite passes the sqlite3 error through).
_SQLITE_BUSY = ("database is locked", "database table is locked")
_SQLITE_UNAVAILABLE = (
    "attempt to write a readonly database",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
)

_DRIVER_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")


def sqlstate(error: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE of a SQLAlchemy error, if it carries one."""
    original = getattr(error, "orig", None)
    for attribute in ("sqlstate", "pgcode"):
        code = getattr(original, attribute, None)
        if isinstance(code, str):
            return code
    cause = getattr(original, "__cause__", None)
    code = getattr(cause, "sqlstate", None)
    return code if isinstance(code, str) else None


def database_trouble(error: BaseException) -> Trouble | None:
    """``busy``, ``unavailable`` or None for ``error`` (see the module docstring)."""
    exc = sys.modules.get("sqlalchemy.exc")
    if exc is not None and isinstance(error, exc.TimeoutError):  # no pooled connection free
        return "busy"
    db = sys.modules.get("hackathon_shared.db")
    if db is not None and isinstance(error, db.WriterTurnTimeout):  # SQLite writers queued
        return "busy"
    if exc is not None and isinstance(error, exc.DBAPIError):
        code = sqlstate(error)
        if code is not None:
            if code in _BUSY_SQLSTATES:
                return "busy"
            if code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_SQLSTATES:
                return "unavailable"
        if error.connection_invalidated:
            return "unavailable"
        message = str(error.orig).lower()
        if any(text in message for text in _SQLITE_BUSY):
            return "busy"
        if any(text in message for text in _SQLITE_UNAVAILABLE):
            return "unavailable"
        if isinstance(error, exc.InterfaceError):
            return "unavailable"
        return None
    if isinstance(error, OSError) and _raised_by_a_driver(error):
        return "unavailable"  # e.g. connection refused while the pool connects
    return None


def _raised_by_a_driver(error: BaseException) -> bool:
    for frame, _line in traceback.walk_tb(error.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _DRIVER_MODULES:
            return True
    return False
