"""Each problem answer given from several places has one helper (hackathon_shared.problems),
and a client gets exactly the same document whichever place answers: type, title, status,
detail, the 422's ``errors``, the media type and ``Retry-After``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel
from sqlalchemy import create_engine, text

from hackathon_shared.api.query_parameters import refuse_unknown_query_parameters
from hackathon_shared.pagination import decode_cursor
from hackathon_shared.problems import (
    PROBLEM_BASE,
    PROBLEM_CONTENT_TYPE,
    Problem,
    ProblemError,
    ValidationProblem,
    catching_up,
    database_busy,
    install_problem_handlers,
    invalid_field,
    invalid_fields,
    service_unavailable,
    upstream_timeout,
)


class Body(BaseModel):
    count: int
    name: str


def make_app(raises: Callable[[], None] | None = None) -> FastAPI:
    made = FastAPI(dependencies=[Depends(refuse_unknown_query_parameters)])
    install_problem_handlers(made)

    @made.post("/things")
    async def things(body: Body) -> dict[str, int]:
        return {"count": body.count}

    @made.get("/things")
    async def listing(cursor: Annotated[str | None, Query()] = None) -> dict[str, int]:
        if cursor is not None:
            decode_cursor(cursor)
        if raises is not None:
            raises()
        return {"count": 0}

    return made


async def call(app: FastAPI, method: str, url: str, **kwargs: object) -> httpx.Response:
    # An error that reaches the catch-all handler is answered, then raised again by Starlette
    # (for servers to log): the answer is what a client sees.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, url, **kwargs)  # type: ignore[arg-type]


def raising(problem: ProblemError) -> Callable[[], None]:
    def raise_it() -> None:
        raise problem

    return raise_it


def document(problem: ProblemError) -> object:
    """The body ``problem`` is answered with."""
    return json.loads(bytes(problem.response().body))


def assert_problem_media_type(answer: httpx.Response) -> None:
    assert answer.headers["content-type"] == PROBLEM_CONTENT_TYPE


async def test_invalid_fields_names_every_field_in_order_in_detail_and_errors() -> None:
    problem = invalid_fields(
        [
            {"field": "scores.design", "message": "above the criterion's scale"},
            {"field": "comment", "message": "too long"},
        ]
    )
    answer = await call(make_app(raising(problem)), "GET", "/things")
    assert answer.status_code == 422
    assert_problem_media_type(answer)
    assert answer.json() == {
        "type": PROBLEM_BASE + "validation",
        "title": "Validation failed",
        "status": 422,
        "detail": "invalid fields: scores.design, comment",
        "errors": [
            {"field": "scores.design", "message": "above the criterion's scale"},
            {"field": "comment", "message": "too long"},
        ],
    }
    ValidationProblem.model_validate(answer.json())
    assert "retry-after" not in answer.headers


def test_invalid_field_is_the_one_field_validation_problem() -> None:
    one = invalid_field("challenge_id", "not a challenge of this hackathon")
    assert (one.status, one.kind, one.title, one.detail, one.headers) == (
        422,
        "validation",
        "Validation failed",
        "invalid fields: challenge_id",
        None,
    )
    assert one.extra == {
        "errors": [{"field": "challenge_id", "message": "not a challenge of this hackathon"}]
    }


def test_a_validation_problem_without_a_field_is_a_bug_not_an_answer() -> None:
    # The document requires one entry in ``errors`` at least (ValidationProblem).
    with pytest.raises(ValueError, match="at least one field"):
        invalid_fields([])


async def test_the_frameworks_422_is_the_same_document_as_a_use_cases() -> None:
    answer = await call(make_app(), "POST", "/things", json={"count": "many", "name": 3})
    assert answer.status_code == 422
    assert_problem_media_type(answer)
    problem = answer.json()
    fields = [e["field"] for e in problem["errors"]]
    assert fields == ["count", "name"]
    assert all(e["message"] for e in problem["errors"])
    assert problem == document(invalid_fields(problem["errors"]))


async def test_unknown_query_parameters_are_each_named_once() -> None:
    answer = await call(make_app(), "GET", "/things?limt=10&version=2&limt=11")
    assert answer.status_code == 422
    assert answer.json() == {
        "type": PROBLEM_BASE + "validation",
        "title": "Validation failed",
        "status": 422,
        "detail": "invalid fields: limt, version",
        "errors": [
            {"field": "limt", "message": "unknown query parameter"},
            {"field": "version", "message": "unknown query parameter"},
        ],
    }


async def test_a_cursor_no_list_gave_out_is_the_validation_problem_on_cursor() -> None:
    answer = await call(make_app(), "GET", "/things?cursor=not-a-cursor")
    assert answer.status_code == 422
    assert answer.json() == {
        "type": PROBLEM_BASE + "validation",
        "title": "Validation failed",
        "status": 422,
        "detail": "invalid fields: cursor",
        "errors": [{"field": "cursor", "message": "not a cursor this list gave out"}],
    }


async def test_catching_up_says_when_to_come_back() -> None:
    detail = "this service is still applying other services' events: teams[0] at 3 of 5"
    answer = await call(make_app(raising(catching_up(detail))), "GET", "/things")
    assert answer.status_code == 503
    assert_problem_media_type(answer)
    assert answer.headers["retry-after"] == "1"
    assert answer.json() == {
        "type": PROBLEM_BASE + "catching-up",
        "title": "Service unavailable",
        "status": 503,
        "detail": detail,
    }
    Problem.model_validate(answer.json())


def hold_write_lock_and_write(path: Path) -> Callable[[], None]:
    """A write to a real SQLite file while another connection holds its write lock: SQLite
    answers "database is locked" once the (here zero) busy timeout passes."""

    def write() -> None:
        holder = sqlite3.connect(path, isolation_level=None)
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
        try:
            holder.execute("CREATE TABLE IF NOT EXISTS things (n INTEGER)")
            holder.execute("BEGIN IMMEDIATE")
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO things VALUES (1)"))
        finally:
            engine.dispose()
            holder.close()

    return write


async def test_a_busy_database_is_a_503_with_retry_after(tmp_path: Path) -> None:
    database = tmp_path / "busy.db"
    answer = await call(make_app(hold_write_lock_and_write(database)), "GET", "/things")
    assert answer.status_code == 503
    assert_problem_media_type(answer)
    assert answer.headers["retry-after"] == "1"
    assert answer.json() == {
        "type": PROBLEM_BASE + "database-busy",
        "title": "Service unavailable",
        "status": 503,
        "detail": "the service's database is busy; nothing was changed, try again",
    }
    assert answer.json() == document(database_busy())
    # Nothing was written: the refused write was rolled back.
    with sqlite3.connect(database) as check:
        assert check.execute("SELECT count(*) FROM things").fetchone() == (0,)


def test_the_gateways_answers_for_a_service_it_cannot_use() -> None:
    down = service_unavailable("scoring").response()
    assert down.status_code == 503
    assert down.media_type == PROBLEM_CONTENT_TYPE
    assert "retry-after" not in down.headers
    assert down.body == (
        b'{"type":"' + PROBLEM_BASE.encode() + b'service-unavailable",'
        b'"title":"Service unavailable","status":503,'
        b'"detail":"the scoring service is unavailable"}'
    )
    slow = upstream_timeout("scoring").response()
    assert slow.status_code == 504
    assert "retry-after" not in slow.headers
    assert slow.body == (
        b'{"type":"' + PROBLEM_BASE.encode() + b'upstream-timeout",'
        b'"title":"Upstream timeout","status":504,'
        b'"detail":"the scoring service did not answer in time"}'
    )


def test_retry_after_is_whole_seconds_beside_the_other_headers() -> None:
    limited = ProblemError(
        429, "rate-limited", "too many requests; try again in 7 s", retry_after=7,
        headers={"X-Other": "kept"},
    )  # fmt: skip
    assert limited.headers == {"X-Other": "kept", "Retry-After": "7"}
    assert limited.response().headers["retry-after"] == "7"
    assert ProblemError(409, "team-full", "full").headers is None
    for wrong in (-1, True, 1.5):
        with pytest.raises(ValueError, match="whole number of seconds"):
            ProblemError(429, "rate-limited", "slow down", retry_after=wrong)  # type: ignore[arg-type]
