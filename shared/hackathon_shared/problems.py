"""RFC 9457 problem details for every HTTP error a service or the gateway returns."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://hackathon.example/problems/"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
    504: "Upstream timeout",
}


def problem_type(kind: str) -> str:
    """The ``type`` URI of the problem that names the rule ``kind``."""
    return PROBLEM_BASE + kind


# ---- response schemas: what every problem answer looks like, for API documents (OpenAPI)


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error is answered (``application/problem+json``).
    ``type`` names the rule that refused the request; more members may follow."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(
        pattern="^" + re.escape(PROBLEM_BASE) + "[a-z0-9-]+$",
        description="a URI naming the rule, e.g. " + PROBLEM_BASE + "team-full",
    )
    title: str = Field(description="a short summary of the problem's kind")
    status: int = Field(ge=100, le=599, description="the HTTP status of the answer")
    detail: str = Field(description="what happened to this request, in words")


class FieldProblem(BaseModel):
    """One offending field of a refused request."""

    model_config = ConfigDict(title="FieldProblem")

    field: str = Field(description="where it is: a dotted path into the body or the query")
    message: str = Field(description="what is wrong with it")


class ValidationProblem(Problem):
    """A 422 problem (type ``validation``): every offending field, each named."""

    model_config = ConfigDict(title="ValidationProblem")

    errors: list[FieldProblem] = Field(min_length=1)


class ProblemError(Exception):
    """Raise from a route or a use case to answer with a problem document.

    ``kind`` names the rule, e.g. ``team-full``; it becomes the ``type`` URI."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.extra = extra or {}
        self.headers = headers


def problem_response(
    status: int,
    kind: str,
    detail: str,
    *,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_errors(errors: list[Any]) -> list[dict[str, str]]:
    return [{"field": _error_field(e), "message": e.get("msg", "")} for e in errors]


def _error_field(error: Any) -> str:
    # A body that is not JSON at all names the body: FastAPI's location for it ends with the
    # character position the parser stopped at, which is no field.
    if error.get("type") == "json_invalid":
        return "body"
    return _field_path(error.get("loc", ()))


def _database_busy(error: BaseException) -> bool:
    """SQLite's "database is locked": another process held the write lock past the busy
    timeout, and the transaction was rolled back. SQLAlchemy is looked up, not imported: the
    gateway, which has no database, shares these handlers and never loads it (22 MiB)."""
    exc = sys.modules.get("sqlalchemy.exc")
    return (
        exc is not None
        and isinstance(error, exc.OperationalError)
        and "database is locked" in str(error.orig)
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status, exc.kind, exc.detail, title=exc.title, extra=exc.extra, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(
            422, "validation", f"invalid fields: {fields}", extra={"errors": errors}
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        if _database_busy(exc):
            log.warning("database busy: %s", exc.__class__.__name__)
            return problem_response(
                503,
                "database-busy",
                "the service's database is busy; nothing was changed, try again",
                headers={"Retry-After": "1"},
            )
        log.exception("unhandled error", exc_info=exc)
        return problem_response(500, "internal-error", "something went wrong on our side")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {401: "unauthenticated", 403: "forbidden", 404: "not-found"}.get(
            exc.status_code, "http-error"
        )
        return problem_response(
            exc.status_code, kind, str(exc.detail), headers=getattr(exc, "headers", None)
        )
