"""RFC 9457 problem details for every HTTP error a service or the gateway returns.

A problem answer that is given from more than one place is built by one helper here, so that
its sites cannot drift apart:

- 422 ``validation``: :func:`invalid_fields` (every offending field, each with its message;
  ``detail`` is ``invalid fields: a, b``) and :func:`invalid_field` (just one). FastAPI's own
  request validation, the unknown query parameters, a bad cursor and every rule a use case
  checks on a field use them.
- 503: :func:`catching_up` (the read barrier's bound passed), :func:`database_busy` (a lock
  held past the bound: SQLite's busy timeout, PostgreSQL's ``lock_timeout``, a deadlock),
  :func:`database_unavailable` (the database cannot be reached or cannot write;
  ``hackathon_shared.database_errors`` tells the two apart), :func:`service_unavailable` and,
  its 504 sibling,
  :func:`upstream_timeout` (the gateway's answers for a service it cannot use).
- ``Retry-After`` is written in one way: ``ProblemError(..., retry_after=seconds)``, which the
  503 helpers above and the 429s (rate limits, the sign-in lock, the stream cap) use.

Each helper spells its ``type`` out (``ProblemError(503, "catching-up", ...)``) rather than
taking it as an argument: the gateway's OpenAPI test finds every type the code can answer with
by that spelling, and fails when one is not described. The rules' own refusals (409
``team-full``, 403 ``not-a-member``, the ``...-not-found`` 404s) stay where their rule is:
each is one answer given from one place, whose detail is its own, and ``ProblemError`` already
gives them their shape and title."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from hackathon_shared.database_errors import database_trouble

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

    ``kind`` names the rule, e.g. ``team-full``; it becomes the ``type`` URI. ``retry_after``
    (whole seconds) adds the ``Retry-After`` header that tells a client when to come back."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.extra = extra or {}
        if retry_after is not None:
            headers = {**(headers or {}), "Retry-After": _delay_seconds(retry_after)}
        self.headers = headers

    def response(self) -> JSONResponse:
        """This problem as an answer, for code that answers rather than raises (an exception
        handler, an ASGI middleware, the gateway's proxy)."""
        return problem_response(
            self.status,
            self.kind,
            self.detail,
            title=self.title,
            extra=self.extra,
            headers=self.headers,
        )


def _delay_seconds(seconds: int) -> str:
    """``Retry-After`` as RFC 9110's delay-seconds: a whole, non-negative number."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise ValueError(f"Retry-After is a whole number of seconds, not {seconds!r}")
    return str(seconds)


# ---- the problem answers given from more than one place (see the module's docstring)

BUSY_RETRY_AFTER_SECONDS = 1
"""When a client may try again after a 503 ``catching-up`` or ``database-busy``: both pass as
soon as the events are applied or the write lock is free, which takes well under a second."""


UNAVAILABLE_RETRY_AFTER_SECONDS = 5
"""When a client may try again after a 503 ``database-unavailable``: a database restarting, a
disk being freed or a file made writable again takes a while."""


def invalid_fields(errors: Sequence[Mapping[str, str]]) -> ProblemError:
    """The 422 ``validation`` problem naming each offending field, in the order given: every
    item has a ``field`` (a dotted path into the body or the query) and a ``message``."""
    named = [{"field": e["field"], "message": e["message"]} for e in errors]
    if not named:
        raise ValueError("a validation problem names at least one field")
    fields = ", ".join(e["field"] for e in named)
    return ProblemError(422, "validation", f"invalid fields: {fields}", extra={"errors": named})


def invalid_field(field: str, message: str) -> ProblemError:
    """The 422 ``validation`` problem for one offending ``field``."""
    return invalid_fields([{"field": field, "message": message}])


def catching_up(detail: str) -> ProblemError:
    """503: the service could not reach the event log's end in time, so it decided nothing."""
    return ProblemError(503, "catching-up", detail, retry_after=BUSY_RETRY_AFTER_SECONDS)


def database_busy() -> ProblemError:
    """503: the database's write lock was held past the busy timeout; nothing was changed."""
    return ProblemError(
        503,
        "database-busy",
        "the service's database is busy; nothing was changed, try again",
        retry_after=BUSY_RETRY_AFTER_SECONDS,
    )


def database_unavailable() -> ProblemError:
    """503: the database could not be reached or could not write; nothing was changed."""
    return ProblemError(
        503,
        "database-unavailable",
        "the service's database is unavailable; nothing was changed, try again later",
        retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
    )


def service_unavailable(service: str) -> ProblemError:
    """503 from the gateway: the service that owns the request could not be reached."""
    return ProblemError(503, "service-unavailable", f"the {service} service is unavailable")


def upstream_timeout(service: str) -> ProblemError:
    """504 from the gateway: the service that owns the request did not answer in time."""
    return ProblemError(504, "upstream-timeout", f"the {service} service did not answer in time")


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


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, exc: ProblemError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_fields(validation_errors(list(exc.errors()))).response()

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        trouble = database_trouble(exc)
        if trouble == "busy":
            log.warning("database busy: %s", exc.__class__.__name__)
            return database_busy().response()
        if trouble == "unavailable":
            log.error("database unavailable: %r", exc)
            return database_unavailable().response()
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
