"""Unknown query parameters are refused by one dependency (hackathon_shared.api.
query_parameters): what each public route declares is what it accepts, anything else is a 422
naming it."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Query
from fastapi.routing import APIRoute

from gateway.routes import ROUTES, build_router
from hackathon_shared.api.query_parameters import (
    declared_query_parameters,
    refuse_unknown_query_parameters,
)
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit
from hackathon_shared.problems import PROBLEM_CONTENT_TYPE, install_problem_handlers


def test_each_public_route_declares_exactly_the_query_parameters_it_reads() -> None:
    by_name = {route.name: route for route in ROUTES}
    routes = [r for r in build_router().routes if isinstance(r, APIRoute)]
    assert {r.name for r in routes} == set(by_name)
    for api_route in routes:
        public = by_name[api_route.name]
        expected = (
            {"limit", "cursor"}
            if public.paginated
            else {"access_token"}
            if public.stream
            else set()
        )
        assert declared_query_parameters(api_route) == expected, public.path


def since(since: Annotated[str | None, Query()] = None) -> str | None:
    return since


def sample_app() -> FastAPI:
    app = FastAPI(dependencies=[Depends(refuse_unknown_query_parameters)])
    install_problem_handlers(app)

    @app.get("/items")
    async def items(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        return {"limit": limit}

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str, after: Annotated[str | None, Depends(since)]) -> dict[str, Any]:
        return {"thing_id": thing_id, "since": after}

    return app


async def get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=sample_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_declared_parameters_pass_including_those_of_dependencies() -> None:
    assert (await get("/items?limit=5")).json() == {"limit": 5}
    assert (await get("/items")).status_code == 200
    assert (await get("/things/t1?since=x")).json() == {"thing_id": "t1", "since": "x"}


async def test_an_unknown_parameter_is_a_422_naming_each_one_once() -> None:
    for path, unknown in (
        ("/items?version=2", ["version"]),
        ("/items?limt=5&version=2&limt=6", ["limt", "version"]),
        ("/things/t1?since=x&cursor=abc", ["cursor"]),  # another route's parameter
        ("/things/t1?=x", [""]),
    ):
        answer = await get(path)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM_CONTENT_TYPE)
        problem = answer.json()
        assert problem["type"].endswith("/validation"), problem
        assert [e["field"] for e in problem["errors"]] == unknown, problem
        assert all(e["message"] == "unknown query parameter" for e in problem["errors"])
