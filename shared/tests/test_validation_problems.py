"""The 422 problem names the fields a client got wrong, and the body when it is not JSON."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from hackathon_shared.problems import PROBLEM_CONTENT_TYPE, install_problem_handlers


class Body(BaseModel):
    count: int


def app() -> FastAPI:
    made = FastAPI()
    install_problem_handlers(made)

    @made.post("/things")
    async def things(body: Body) -> dict[str, int]:
        return {"count": body.count}

    return made


async def post(content: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(
            "/things", content=content, headers={"content-type": "application/json"}
        )


async def test_a_body_that_is_not_json_is_named_as_the_body() -> None:
    answer = await post(b'{"count": 1')
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith(PROBLEM_CONTENT_TYPE)
    assert [e["field"] for e in answer.json()["errors"]] == ["body"]


async def test_a_wrong_field_is_named_by_its_path() -> None:
    answer = await post(b'{"count": "many"}')
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["count"]
