"""The gateway's OpenAPI document describes every public route of API v1 with its models."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.app import create_app
from gateway.routes import ROUTES
from gateway.settings import GatewaySettings

# The gateway's one route table (API.md's routes and this project's extensions) drives both
# the forwarding and the document: the document must describe exactly these, with the models
# each entry names.
PUBLIC_ROUTES = {(route.method.lower(), route.path) for route in ROUTES}
NO_BODY_ANSWER = {(r.method.lower(), r.path) for r in ROUTES if r.status == 204}
WITH_REQUEST_BODY = {(r.method.lower(), r.path) for r in ROUTES if r.body is not None}
SECRET = "a-test-secret-of-enough-length"


def document() -> dict[str, Any]:
    app = create_app(GatewaySettings(HACKATHON_JWT_SECRET=SECRET))
    spec: dict[str, Any] = app.openapi()
    return spec


def test_every_public_route_is_described_and_nothing_else() -> None:
    spec = document()
    described = {
        (method, path.removeprefix("/api/v1"))
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert described == PUBLIC_ROUTES
    assert not [path for path in spec["paths"] if ":path" in path or "{path" in path]


def test_the_table_holds_every_route_of_the_contract() -> None:
    """API.md's routes, as a count per owning service, and a few by name: a route lost from
    the table would vanish from the gateway and from the document alike."""
    by_service: dict[str, int] = {}
    for route in ROUTES:
        by_service[route.service] = by_service.get(route.service, 0) + 1
    assert by_service == {"registration": 15, "submissions": 3, "scoring": 6, "notifications": 8}
    assert len(PUBLIC_ROUTES) == len(ROUTES) == 32  # no route twice
    assert {("put", "/submissions/{submission_id}/scores/me"), ("get", "/me"),
            ("get", "/notifications/stream")} <= PUBLIC_ROUTES  # fmt: skip


def test_each_route_has_its_request_and_answer_models() -> None:
    spec = document()
    for method, path in PUBLIC_ROUTES:
        operation = spec["paths"]["/api/v1" + path][method]
        success = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
        assert success, (method, path)
        for status, answer in success.items():
            if (method, path) in NO_BODY_ANSWER:
                assert status == "204"
            elif path == "/notifications/stream":
                assert "text/event-stream" in answer["content"]
            else:
                schema = answer["content"]["application/json"]["schema"]
                assert "$ref" in schema or schema.get("type") == "array", (method, path, schema)
        if (method, path) in WITH_REQUEST_BODY:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert "$ref" in body, (method, path)
        else:
            assert "requestBody" not in operation, (method, path)


def test_the_bearer_scheme_is_declared_for_the_routes_that_need_it() -> None:
    spec = document()
    schemes = spec["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me.get("security"), me
    accounts = spec["paths"]["/api/v1/accounts"]["post"]
    assert not accounts.get("security")


async def test_docs_and_the_document_are_served() -> None:
    app = create_app(GatewaySettings(HACKATHON_JWT_SECRET=SECRET))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as client:
        docs = await client.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        spec = await client.get("/openapi.json")
        assert spec.status_code == 200 and spec.json()["info"]["title"]
