"""What the OpenAPI document says each public route answers, derived from its entry in the
route table (gateway.routes): every status it can answer, each refusal as an RFC 9457 problem
under ``application/problem+json`` naming the rules (``type``) behind it, and the security
that applies (none, optional, or a token).

Some answers follow from what a route is, and are added here for every route alike:
- a token that is looked at: 401 ``unauthenticated``; organizer routes also 403 ``forbidden``;
- a path parameter: 404 ``not-found`` (an id that leads nowhere);
- every route: 422 ``validation`` (an unknown query parameter, and whatever the request's
  schema or the route's ``beyond_schema`` rules refuse), every offending field in ``errors``;
- a body: 413 ``body-too-large``; a rate limit: 429 ``rate-limited`` with ``Retry-After``;
- every route: 503 ``service-unavailable``, ``database-busy`` or ``database-unavailable``,
  and ``catching-up`` where the owning service first reaches the log's end
  (docs/consistency.md); 504 ``upstream-timeout``;
- a write that publishes events: 202 with its usual body and ``X-Event-Delivery: pending``.
The rules a route's own service decides are listed in its table entry (``problems``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.security import APIKeyQuery
from pydantic.json_schema import models_json_schema

from hackathon_shared.problems import Problem, ValidationProblem, problem_type

if TYPE_CHECKING:
    from gateway.routes import PublicRoute

PROBLEM_MEDIA_TYPE = "application/problem+json"
COMPONENTS = "#/components/schemas/"

# A browser's EventSource cannot send headers: the notification stream also takes the token
# in the query. Declared as a security scheme of its own (the stream accepts either); the
# check itself is gateway.edge.stream_reader's.
ACCESS_TOKEN_IN_QUERY = APIKeyQuery(
    name="access_token",
    scheme_name="AccessTokenQuery",
    description="an access token from POST /auth/token, for EventSource clients",
    auto_error=False,
)

PROBLEM_KINDS: dict[str, str] = {
    # every route, or by what the route is
    "unauthenticated": "no valid access token: missing, malformed, expired, or of an erased "
    "account (on routes open to anyone, a token that is sent must still be valid)",
    "forbidden": "the caller's role does not allow this",
    "not-found": "no such resource",
    "validation": "invalid or unknown fields, each named in `errors`",
    "body-too-large": "the request body is over the gateway's limit (`MAX_BODY_BYTES`)",
    "rate-limited": "too many requests from this client; `Retry-After` says when to come back",
    "service-unavailable": "the owning service could not be reached",
    "database-busy": "the service's database was busy; nothing was changed, try again",
    "database-unavailable": "the service's database could not be reached or could not write; "
    "nothing was changed, retry after `Retry-After`",
    "catching-up": "the service could not reach the log's end in time; nothing was decided, "
    "retry after `Retry-After`",
    "upstream-timeout": "the owning service did not answer in time",
    # Idempotency-Key (hackathon_shared.idempotency)
    "idempotency-key-in-use": "a request with this `Idempotency-Key` is still being carried "
    "out; retry after `Retry-After`",
    "idempotency-key-answer-lost": "the request with this `Idempotency-Key` was carried out, "
    "but its answer was lost in a crash; read the resource to see its state",
    "idempotency-key-reused": "this `Idempotency-Key` was used for another request (method, "
    "path or body); use a new key for a new request",
    # accounts and tokens
    "invalid-credentials": "wrong e-mail or password",
    "too-many-sign-in-attempts": "too many failed sign-ins for this e-mail from this client",
    "email-taken": "an account with this e-mail exists",
    # looked-up things that are not there
    "hackathon-not-found": "no such hackathon",
    "team-not-found": "no such team",
    "submission-not-found": "no such submission (or the team has not submitted yet)",
    "account-not-found": "no account has this e-mail address",
    "judge-not-found": "the account is not a judge of this hackathon",
    "delivery-not-found": "the service gave out no such delivery id (a 202's monitor link)",
    "results-not-published": "the results are not published yet",
    # who may do what
    "not-registered": "register for the hackathon first",
    "wrong-invite-code": "the invite code is not this team's",
    "not-a-member": "only the team's members may do this",
    "not-assigned": "only a judge assigned to the submission scores it",
    "conflict-of-interest": "the judge is or was a member of the team, or declared a "
    "conflict with it",
    "not-published": "the leaderboard is public only once results are published",
    # rules of the current state
    "phase-transition": "only the next phase forward (draft, registration, hacking, judging)",
    "wrong-phase": "not possible in the hackathon's current phase",
    "already-registered": "the caller is registered for this hackathon already",
    "already-enrolled": "this judge is enrolled already",
    "already-in-team": "the caller is in a team of this hackathon already",
    "team-name-taken": "a team of this hackathon has this name",
    "hackathon-full": "the hackathon has its `max_teams` teams",
    "team-full": "the team has `max_team_size` members",
    "team-withdrawn": "the team has withdrawn",
    "team-too-small": "the team has fewer than `min_team_size` members",
    "deadline-passed": "the submission deadline has passed",
    "results-published": "the results are published",
    "submission-withdrawn": "the submission was withdrawn",
    "too-many-webhooks": "the hackathon has its maximum of webhooks",
    "too-many-streams": "the account has its maximum of open notification streams",
}

STATUS_MEANINGS = {
    401: "Not authenticated.",
    403: "Not allowed.",
    404: "Not found.",
    409: "Refused by a rule of the current state.",
    413: "Request body too large.",
    422: "Invalid request, nothing was changed: every offending field is in `errors`.",
    429: "Too many requests.",
    503: "Not available now; nothing was changed.",
    504: "The owning service did not answer in time; the request may or may not have been "
    "carried out.",
}

TOKEN_CHECKED = frozenset({"anyone", "signed-in", "organizer", "stream-reader"})


def problems_of(route: PublicRoute) -> dict[int, tuple[str, ...]]:
    """Every problem the route can answer, by status: its own service's rules and those that
    follow from what the route is. Refuses a problem kind that has no meaning written down."""
    found: dict[int, list[str]] = {}

    def add(status: int, *kinds: str) -> None:
        listed = found.setdefault(status, [])
        listed.extend(kind for kind in kinds if kind not in listed)

    if route.access in TOKEN_CHECKED:
        add(401, "unauthenticated")
    if route.access == "organizer":
        add(403, "forbidden")
    for status, kinds in route.problems.items():
        add(status, *kinds)
    if route.parameters:
        add(404, "not-found")
    if route.body is not None:
        add(413, "body-too-large")
    add(422, "validation")  # an unknown query parameter, on every route
    if route.takes_idempotency_key:
        add(409, "idempotency-key-in-use", "idempotency-key-answer-lost")
        add(422, "idempotency-key-reused")
    if route.limit is not None:
        add(429, "rate-limited")
    add(503, "service-unavailable", "database-busy", "database-unavailable")
    if route.catches_up:
        add(503, "catching-up")
    add(504, "upstream-timeout")
    unknown = sorted(
        kind for kinds in found.values() for kind in kinds if kind not in PROBLEM_KINDS
    )
    if unknown:
        raise ValueError(f"{route.name}: problem kinds without a meaning: {', '.join(unknown)}")
    return {status: tuple(found[status]) for status in sorted(found)}


def responses_of(route: PublicRoute) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of the route's operation, besides its main success answer (which
    FastAPI documents from the route's answer model)."""
    responses: dict[int | str, dict[str, Any]] = dict(route.responses)
    if route.publishes:
        responses[202] = _pending(route)
    for status, kinds in problems_of(route).items():
        responses[status] = _problem_answer(status, kinds, beyond_schema_of(route))
    return responses


def beyond_schema_of(route: PublicRoute) -> tuple[str, ...]:
    """The rules a request the schema allows may still be refused by (422 ``validation``)."""
    cursor = ("`cursor`: one this list gave out (`next_cursor`)",) if route.paginated else ()
    return (*route.beyond_schema, *cursor)


def openapi_extra_of(route: PublicRoute) -> dict[str, Any] | None:
    """Routes open to anyone take a token but need none: ``{}`` among the security
    alternatives says so (FastAPI lists the bearer scheme the check declares)."""
    if route.access == "anyone":
        return {"security": [{}]}
    return None


def _pending(route: PublicRoute) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": "Recorded, but its events are not in the log yet: the other services "
        "may not see it until they are. The body is the usual answer's.",
        "headers": {
            "X-Event-Delivery": {
                "description": "`pending`",
                "required": True,
                "schema": {"type": "string", "enum": ["pending"]},
            },
            "Link": {
                "description": "the status monitor: `</api/v1/deliveries/{service}/{id}>; "
                'rel="monitor"`, which answers `delivered` once the events are in the log',
                "required": True,
                "schema": {"type": "string"},
            },
        },
    }
    if route.answer is not None and route.status != 204:
        answer["model"] = route.answer
    return answer


def _problem_answer(status: int, kinds: tuple[str, ...], rules: tuple[str, ...]) -> dict[str, Any]:
    schema = "ValidationProblem" if status == 422 else "Problem"
    lines = [f"- `{problem_type(kind)}`: {PROBLEM_KINDS[kind]}" for kind in kinds]
    description = f"{STATUS_MEANINGS[status]} `type` is one of:\n\n" + "\n".join(lines)
    if status == 422 and rules:
        description += "\n\nBesides the schema, the request must meet:\n\n" + "\n".join(
            f"- {rule}" for rule in rules
        )
    answer: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": COMPONENTS + schema}}},
    }
    headers = _problem_headers(status, kinds)
    if headers:
        answer["headers"] = headers
    return answer


def _problem_headers(status: int, kinds: tuple[str, ...]) -> dict[str, Any]:
    seconds = {"type": "integer", "minimum": 0}
    if status == 429:
        return {
            "Retry-After": {
                "description": "seconds to wait before trying again",
                "required": True,
                "schema": seconds,
            }
        }
    if status == 503:
        return {
            "Retry-After": {
                "description": "seconds to wait before trying again (with `catching-up`, "
                "`database-busy` and `database-unavailable`)",
                "required": False,
                "schema": seconds,
            }
        }
    if status == 401 and "unauthenticated" in kinds:
        return {
            "WWW-Authenticate": {
                "description": "the scheme to authenticate with: `Bearer`",
                "required": False,
                "schema": {"type": "string"},
            }
        }
    return {}


def problem_components() -> dict[str, Any]:
    """The JSON Schemas of the problem documents, as OpenAPI components."""
    _, top = models_json_schema(
        [(Problem, "serialization"), (ValidationProblem, "serialization")],
        ref_template=COMPONENTS + "{model}",
    )
    components: dict[str, Any] = top["$defs"]
    return components


def with_problem_components(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` as FastAPI builds it, with the problem components the routes' error
    answers refer to."""
    generate = app.openapi

    def document() -> dict[str, Any]:
        spec = generate()  # built once, then cached by FastAPI
        schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in schemas:
            schemas.update(problem_components())
        return spec

    return document
