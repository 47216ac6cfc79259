"""The gateway's OpenAPI document describes every public route of API v1 with its models."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.app import create_app
from gateway.settings import GatewaySettings

# API.md's routes (under /api/v1), and the extensions this project adds.
PUBLIC_ROUTES = {
    ("post", "/accounts"),
    ("post", "/auth/token"),
    ("get", "/me"),
    ("delete", "/me"),
    ("post", "/hackathons"),
    ("get", "/hackathons"),
    ("get", "/hackathons/{hackathon_id}"),
    ("post", "/hackathons/{hackathon_id}/phase"),
    ("post", "/hackathons/{hackathon_id}/registrations"),
    ("post", "/hackathons/{hackathon_id}/teams"),
    ("post", "/teams/{team_id}/members"),
    ("delete", "/teams/{team_id}/members/me"),
    ("get", "/teams/{team_id}"),
    ("get", "/hackathons/{hackathon_id}/teams"),
    ("post", "/hackathons/{hackathon_id}/judges"),
    ("put", "/teams/{team_id}/submission"),
    ("get", "/teams/{team_id}/submission"),
    ("get", "/hackathons/{hackathon_id}/submissions"),
    ("post", "/hackathons/{hackathon_id}/assignments"),
    ("get", "/judging/assignments"),
    ("put", "/submissions/{submission_id}/scores/me"),
    ("get", "/hackathons/{hackathon_id}/leaderboard"),
    ("post", "/hackathons/{hackathon_id}/results"),
    ("get", "/hackathons/{hackathon_id}/results"),
    ("get", "/notifications"),
    ("get", "/notifications/stream"),
    ("post", "/hackathons/{hackathon_id}/webhooks"),
    # extensions
    ("post", "/notifications/read"),
    ("post", "/notifications/{notification_id}/read"),
    ("get", "/hackathons/{hackathon_id}/webhooks"),
    ("get", "/hackathons/{hackathon_id}/webhooks/{webhook_id}/deliveries"),
    ("delete", "/hackathons/{hackathon_id}/webhooks/{webhook_id}"),
}
NO_BODY_ANSWER = {
    ("delete", "/me"),
    ("delete", "/teams/{team_id}/members/me"),
    ("delete", "/hackathons/{hackathon_id}/webhooks/{webhook_id}"),
}
WITH_REQUEST_BODY = {
    ("post", "/accounts"),
    ("post", "/auth/token"),
    ("post", "/hackathons"),
    ("post", "/hackathons/{hackathon_id}/phase"),
    ("post", "/hackathons/{hackathon_id}/registrations"),
    ("post", "/hackathons/{hackathon_id}/teams"),
    ("post", "/teams/{team_id}/members"),
    ("post", "/hackathons/{hackathon_id}/judges"),
    ("put", "/teams/{team_id}/submission"),
    ("put", "/submissions/{submission_id}/scores/me"),
    ("post", "/hackathons/{hackathon_id}/webhooks"),
}
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
