"""The gateway's OpenAPI document describes every public route of API v1 with its models, every
status each route can answer, each refusal as a problem document, and the security each route
really has; and the gateway answers as it says (the whole platform against the document is
tests/test_contract_schemathesis.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from gateway.app import create_app
from gateway.openapi import PROBLEM_KINDS, PROBLEM_MEDIA_TYPE, problems_of
from gateway.routes import ROUTES, PublicRoute
from gateway.settings import GatewaySettings
from hackathon_shared.problems import problem_type

# The gateway's one route table (API.md's routes and this project's extensions) drives both
# the forwarding and the document: the document must describe exactly these, with the models
# each entry names.
PUBLIC_ROUTES = {(route.method.lower(), route.path) for route in ROUTES}
NO_BODY_ANSWER = {(r.method.lower(), r.path) for r in ROUTES if r.status == 204}
WITH_REQUEST_BODY = {(r.method.lower(), r.path) for r in ROUTES if r.body is not None}
SECRET = "a-test-secret-of-enough-length"
REPOSITORY = Path(__file__).resolve().parents[3]


def document() -> dict[str, Any]:
    app = create_app(GatewaySettings(HACKATHON_JWT_SECRET=SECRET))
    spec: dict[str, Any] = app.openapi()
    return spec


def operation_of(spec: dict[str, Any], route: PublicRoute) -> dict[str, Any]:
    found: dict[str, Any] = spec["paths"]["/api/v1" + route.path][route.method.lower()]
    return found


def client() -> httpx.AsyncClient:
    app = create_app(GatewaySettings(HACKATHON_JWT_SECRET=SECRET))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")


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
    """API.md's routes and the extensions in docs/, as a count per owning service, and a few
    by name: a route lost from the table would vanish from the gateway and from the document
    alike."""
    by_service: dict[str, int] = {}
    for route in ROUTES:
        by_service[route.service] = by_service.get(route.service, 0) + 1
    assert by_service == {"registration": 20, "submissions": 4, "scoring": 7, "notifications": 9}
    assert len(PUBLIC_ROUTES) == len(ROUTES) == 40  # no route twice
    assert {("put", "/submissions/{submission_id}/scores/me"), ("get", "/me"),
            ("get", "/notifications/stream")} <= PUBLIC_ROUTES  # fmt: skip


def test_each_route_has_its_request_and_answer_models() -> None:
    spec = document()
    for route in ROUTES:
        method, path = route.method.lower(), route.path
        operation = operation_of(spec, route)
        success = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
        assert str(route.status) in success, (method, path)
        for status, answer in success.items():
            if (method, path) in NO_BODY_ANSWER:
                assert status in ("204", "202") and "content" not in answer, (method, path)
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


def test_every_refusal_is_a_problem_document_under_its_media_type() -> None:
    spec = document()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    for route in ROUTES:
        for status, answer in operation_of(spec, route)["responses"].items():
            if int(status) < 400:
                continue
            expected = "ValidationProblem" if status == "422" else "Problem"
            assert answer["content"] == {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{expected}"}}
            }, (route.name, status)
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    validation = schemas["ValidationProblem"]
    assert "errors" in validation["required"]
    field_problem = schemas[validation["properties"]["errors"]["items"]["$ref"].split("/")[-1]]
    assert set(field_problem["required"]) == {"field", "message"}


def test_each_route_documents_every_status_it_can_answer() -> None:
    """What follows from a route's entry, and the rules its own service refuses it with,
    each named by its problem type in the answer's description."""
    spec = document()
    for route in ROUTES:
        responses = operation_of(spec, route)["responses"]
        statuses = {int(s) for s in responses}
        assert (401 in statuses) == (route.access != "open" or 401 in route.problems)
        if route.access == "organizer":
            assert 403 in statuses, route.name
        assert (429 in statuses) == (route.limit is not None or 429 in route.problems)
        assert (413 in statuses) == (route.body is not None), route.name
        assert (404 in statuses) == bool(route.parameters or 404 in route.problems), route.name
        assert {422, 503, 504} <= statuses, route.name
        assert (202 in statuses) == route.publishes, route.name
        if route.publishes:
            assert responses["202"]["headers"]["X-Event-Delivery"]["required"] is True
        catching_up = problem_type("catching-up") in responses["503"]["description"]
        assert catching_up == route.catches_up, route.name
        for status, kinds in route.problems.items():
            for kind in kinds:
                assert f"`{problem_type(kind)}`" in responses[str(status)]["description"]
        assert responses["429" if 429 in statuses else "503"]["headers"]["Retry-After"]


def test_the_rules_beyond_the_schema_are_written_in_the_422_answer() -> None:
    spec = document()
    form_team = next(r for r in ROUTES if r.name == "form_team")
    described = operation_of(spec, form_team)["responses"]["422"]["description"]
    assert "`challenge_id`: a challenge of this hackathon" in described
    listing = next(r for r in ROUTES if r.name == "list_teams")
    assert "`cursor`" in operation_of(spec, listing)["responses"]["422"]["description"]


def test_a_problem_kind_without_a_meaning_is_refused() -> None:
    made_up = PublicRoute("GET", "/things", "things", "registration", "things", "open",
                          problems={409: ("made-up-rule",)})  # fmt: skip
    with pytest.raises(ValueError, match="made-up-rule"):
        problems_of(made_up)


def test_every_problem_type_the_code_raises_is_described() -> None:
    """A rule added to a service without being described here would reach clients as a type
    no document names."""
    raised: set[str] = set()
    pattern = re.compile(r"(?:ProblemError|problem_response)\(\s*\d{3},\s*\"([a-z0-9-]+)\"")
    for folder in ("services", "shared/hackathon_shared"):
        for source in (REPOSITORY / folder).rglob("*.py"):
            if "tests" not in source.parts:
                raised.update(pattern.findall(source.read_text()))
    # A bug, and the gateway's answer to a method a path does not have: no operation's.
    undocumented = raised - set(PROBLEM_KINDS) - {"internal-error", "method-not-allowed"}
    assert len(raised) > 30 and not undocumented, sorted(undocumented)


def test_security_is_declared_only_where_a_token_is_needed() -> None:
    spec = document()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an access token from POST /auth/token",
    }
    assert schemes["AccessTokenQuery"]["in"] == "query"
    for route in ROUTES:
        security = operation_of(spec, route).get("security")
        if route.access == "open":
            assert security is None, route.name
        elif route.access == "anyone":  # a token is looked at when sent, never needed
            assert security == [{"HTTPBearer": []}, {}], route.name
        elif route.access == "stream-reader":
            assert security == [{"HTTPBearer": []}, {"AccessTokenQuery": []}], route.name
        else:
            assert security == [{"HTTPBearer": []}], route.name


async def test_refusals_are_answered_as_documented() -> None:
    """The gateway's own refusals match the document: status listed, problem media type,
    body valid against the component."""
    spec = document()
    registry = {"components": spec["components"]}

    def check(answer: httpx.Response, path: str, method: str, component: str) -> None:
        assert str(answer.status_code) in spec["paths"][path][method]["responses"]
        assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
        schema = {**registry, "$ref": f"#/components/schemas/{component}"}
        jsonschema.validate(answer.json(), schema)

    async with client() as gateway:
        unsigned = await gateway.get("/api/v1/me")
        assert unsigned.status_code == 401
        check(unsigned, "/api/v1/me", "get", "Problem")
        invalid = await gateway.post("/api/v1/accounts", json={"email": "a@example.org"})
        assert invalid.status_code == 422
        check(invalid, "/api/v1/accounts", "post", "ValidationProblem")
        assert {e["field"] for e in invalid.json()["errors"]} >= {"password", "display_name"}


async def test_a_body_that_is_not_utf8_json_is_a_422_naming_the_body() -> None:
    async with client() as gateway:
        answer = await gateway.post(
            "/api/v1/auth/token",
            content=b"\x80\xff not text",
            headers={"content-type": "application/json"},
        )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "body", "message": "not JSON text in UTF-8"}]


async def test_a_method_a_path_does_not_have_is_a_405_naming_all_of_its_methods() -> None:
    async with client() as gateway:
        for method, path, allowed in (
            ("OPTIONS", "/api/v1/me", "GET, DELETE"),
            ("PATCH", "/api/v1/teams/t1/submission", "PUT, GET"),
            ("QUERY", "/api/v1/hackathons", "POST, GET"),
        ):
            answer = await gateway.request(method, path)
            assert answer.status_code == 405, (method, path)
            assert answer.headers["allow"] == allowed
            assert answer.json()["type"] == problem_type("method-not-allowed")


async def test_an_unknown_query_parameter_is_a_422_naming_it_before_anything_else() -> None:
    async with client() as gateway:
        for path in ("/api/v1/me", "/api/v1/hackathons?limit=5", "/api/v1/teams/t1"):
            separator = "&" if "?" in path else "?"
            answer = await gateway.get(f"{path}{separator}version=2")
            assert answer.status_code == 422, path
            assert answer.json()["errors"] == [
                {"field": "version", "message": "unknown query parameter"}
            ]
