"""The public routes of API v1, as one table (:data:`ROUTES`). Each entry names its method,
path, owning service, who may call it, the rate limit it counts against, its public request
and answer models, and the rules its service may refuse it with; the same table drives the
forwarding and the OpenAPI document (:func:`build_router`, with gateway.openapi adding the
answers that follow from what a route is). The service's path is the public one without
``/api/v1``, with every path parameter forwarded as a single segment."""

from __future__ import annotations

import inspect
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.params import Depends as DependsMarker
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from gateway import edge, openapi
from gateway.proxy import Upstreams
from hackathon_shared.api.accounts import (
    AccountCreatedAnswer,
    Credentials,
    MeAnswer,
    NewAccount,
    TokenAnswer,
)
from hackathon_shared.api.deliveries import PUBLIC_PREFIX, DeliveryView
from hackathon_shared.api.hackathons import (
    HackathonView,
    JoinTeam,
    JudgeAnswer,
    JudgeConflicts,
    JudgeListing,
    JudgeView,
    MyRegistration,
    NewHackathon,
    NewJudge,
    NewRegistration,
    NewTeam,
    PhaseChange,
    RegistrationAnswer,
    TeamView,
)
from hackathon_shared.api.judging import (
    AssignmentAnswer,
    Leaderboard,
    MyAssignment,
    Results,
    ScoreAnswer,
    ScoresIn,
)
from hackathon_shared.api.notifications import (
    MarkedRead,
    NewWebhook,
    NotificationView,
    WebhookDeliveryView,
    WebhookView,
)
from hackathon_shared.api.query_parameters import refuse_unknown_query_parameters
from hackathon_shared.api.submissions import SubmissionIn, SubmissionView
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from hackathon_shared.problems import ProblemError, problem_response

PREFIX = PUBLIC_PREFIX

Access = Literal["open", "anyone", "signed-in", "organizer", "stream-reader"]
"""Who may call a route: anyone, without a token being looked at (signing up and in);
anyone (a token, when sent, must still be valid); a signed-in caller; an organizer; or a
signed-in caller who may pass the token in the query (a browser's EventSource cannot send
headers)."""

RateLimit = Literal["sign-up", "sign-in", "writes"]

ACCESS: dict[Access, Callable[..., Awaitable[Any]] | None] = {
    "open": None,
    "anyone": edge.maybe_signed_in,
    "signed-in": edge.signed_in,
    "organizer": edge.organizer,
    "stream-reader": edge.stream_reader,
}
LIMITS: dict[RateLimit, DependsMarker] = {
    "sign-up": edge.SignUpLimit,
    "sign-in": edge.SignInLimit,
    "writes": edge.WriteLimit,
}

STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: an event `notification` (data: the notification "
        "as in the feed, id: its notification_id) for each new notification of the caller; "
        "comments keep the connection alive. A browser's EventSource, which cannot send "
        "headers, may pass the token as `access_token` in the query.",
        "content": {"text/event-stream": {}},
    }
}


@dataclass(frozen=True)
class PublicRoute:
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str  # under /api/v1, with {parameters}
    name: str  # the operation's name (FastAPI derives its operationId from it)
    service: str
    tag: str
    access: Access
    limit: RateLimit | None = None
    body: type[BaseModel] | None = None
    answer: Any = None  # the answer's model; None for 204 and the stream
    status: int = 200
    paginated: bool = False  # takes ``limit`` and ``cursor``
    stream: bool = False  # Server-Sent Events, passed on as they come
    responses: dict[int | str, dict[str, Any]] = field(default_factory=dict)
    # The problem kinds (``type``) the owning service may refuse the request with, by status;
    # those that follow from what the route is (tokens, parameters, limits, the services being
    # there) are gateway.openapi's.
    problems: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # What the owning service checks that the schema cannot state (a 422 naming the field for
    # a request the schema allows), e.g. "`challenge_id`: a challenge of this hackathon".
    beyond_schema: tuple[str, ...] = ()
    publishes: bool = False  # a write that publishes events: 202 while they are not in the log
    barrier: bool = False  # passes its service's barrier (503 catching-up); see catches_up
    own_facts: bool = False  # answers from its service's own facts in any service: no barrier

    @property
    def catches_up(self) -> bool:
        """Whether the owning service first reaches the log's end (docs/consistency.md): on
        every route of the services that decide on other services' facts, on the marked
        routes of the others; never on a route of a service's own facts in every service (a
        write's status monitor)."""
        if self.own_facts:
            return False
        return self.barrier or self.service in BARRIER_SERVICES

    @property
    def parameters(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.path) if name]

    @property
    def takes_idempotency_key(self) -> bool:
        """Every write does (hackathon_shared.idempotency), except signing in: its answer is
        an access token, which is not kept, and signing in again is harmless."""
        return self.method in ("POST", "PUT", "DELETE") and self.name != "sign_in"

    def service_path(self, values: dict[str, str]) -> str:
        return self.path.format(**{name: segment(values[name]) for name in self.parameters})


def segment(value: str) -> str:
    """A path parameter as exactly one path segment of the service's URL: a slash or a dot
    segment in an id cannot make the request reach another of the service's routes."""
    if value in (".", ".."):
        raise ProblemError(404, "not-found", "no such resource")
    return quote(value, safe="")


_route = PublicRoute
ACCOUNTS, NOTIFICATIONS, HACKATHONS = "accounts", "notifications", "hackathons"
TEAMS, SUBMISSIONS, JUDGING, WEBHOOKS, DELIVERIES = (
    "registration and teams",
    "submissions",
    "judging",
    "webhooks",
    "deliveries",
)
REG, SUB, SCO, NOT = "registration", "submissions", "scoring", "notifications"
BARRIER_SERVICES = frozenset({SUB, SCO, NOT})
_H = "/hackathons/{hackathon_id}"
# Problem kinds many routes share.
_NO_HACKATHON: dict[int, tuple[str, ...]] = {404: ("hackathon-not-found",)}
_NO_TEAM: dict[int, tuple[str, ...]] = {404: ("team-not-found",)}
_DATES = "dates: in the years 2000 to 2100, once converted to UTC"

ROUTES: tuple[PublicRoute, ...] = (
    # ---- accounts
    _route("POST", "/accounts", "create_account", REG, ACCOUNTS, "open", limit="sign-up",
           body=NewAccount, answer=AccountCreatedAnswer, status=201, publishes=True,
           problems={409: ("email-taken",)},
           beyond_schema=("`email`: an address a mail server could accept (stricter than the "
                          "`email` format)",)),
    _route("POST", "/auth/token", "sign_in", REG, ACCOUNTS, "open", limit="sign-in",
           body=Credentials, answer=TokenAnswer,
           problems={401: ("invalid-credentials",), 429: ("too-many-sign-in-attempts",)}),
    _route("GET", "/me", "me", REG, ACCOUNTS, "signed-in", answer=MeAnswer),
    _route("DELETE", "/me", "erase_me", REG, ACCOUNTS, "signed-in", limit="writes", status=204,
           publishes=True),
    _route("GET", "/me/registrations", "my_registrations", REG, ACCOUNTS, "signed-in",
           answer=list[MyRegistration]),
    _route("GET", "/me/judge-enrolments", "my_judge_enrolments", REG, ACCOUNTS, "signed-in",
           answer=list[JudgeView]),
    # ---- notifications
    _route("GET", "/notifications", "my_notifications", NOT, NOTIFICATIONS, "signed-in",
           answer=Page[NotificationView], paginated=True),
    _route("GET", "/notifications/stream", "follow_notifications", NOT, NOTIFICATIONS,
           "stream-reader", stream=True, responses=STREAM_RESPONSES,
           problems={429: ("too-many-streams",)}),
    _route("POST", "/notifications/read", "mark_all_read", NOT, NOTIFICATIONS, "signed-in",
           limit="writes", answer=MarkedRead),
    _route("POST", "/notifications/{notification_id}/read", "mark_read", NOT, NOTIFICATIONS,
           "signed-in", limit="writes", answer=NotificationView),
    # ---- hackathons
    _route("POST", "/hackathons", "create_hackathon", REG, HACKATHONS, "organizer",
           limit="writes", body=NewHackathon, answer=HackathonView, status=201, publishes=True,
           beyond_schema=("`max_team_size`: at least `min_team_size`",
                          "`rubric.criteria`: distinct keys, each `max` above its `min`",
                          "`challenges`: distinct titles", "`awards`: distinct ranks", _DATES)),
    _route("GET", "/hackathons", "list_hackathons", REG, HACKATHONS, "anyone",
           answer=Page[HackathonView], paginated=True, barrier=True),
    _route("GET", _H, "get_hackathon", REG, HACKATHONS, "anyone", answer=HackathonView,
           barrier=True, problems=_NO_HACKATHON),
    _route("POST", _H + "/phase", "change_phase", REG, HACKATHONS, "organizer", limit="writes",
           body=PhaseChange, answer=HackathonView, publishes=True,
           problems={**_NO_HACKATHON, 409: ("phase-transition",)}),
    _route("POST", _H + "/registrations", "register", REG, TEAMS, "signed-in", limit="writes",
           body=NewRegistration, answer=RegistrationAnswer, status=201, publishes=True,
           problems={**_NO_HACKATHON, 409: ("wrong-phase", "already-registered")}),
    _route("POST", _H + "/judges", "enrol_judge", REG, TEAMS, "organizer", limit="writes",
           body=NewJudge, answer=JudgeAnswer, status=201, publishes=True, barrier=True,
           problems={404: ("hackathon-not-found", "account-not-found"),
                     409: ("wrong-phase", "already-enrolled")},
           beyond_schema=("`conflicts`: teams of this hackathon",)),
    _route("GET", _H + "/judges", "list_judges", REG, HACKATHONS, "organizer",
           answer=list[JudgeListing], problems=_NO_HACKATHON),
    _route("PUT", _H + "/judges/{judge_id}/conflicts", "change_judge_conflicts", REG, TEAMS,
           "organizer", limit="writes", body=JudgeConflicts, answer=JudgeView, publishes=True,
           barrier=True,
           problems={404: ("hackathon-not-found", "judge-not-found"), 409: ("wrong-phase",)},
           beyond_schema=("`conflicts`: teams of this hackathon",)),
    # ---- teams
    _route("POST", _H + "/teams", "form_team", REG, TEAMS, "signed-in", limit="writes",
           body=NewTeam, answer=TeamView, status=201, publishes=True,
           problems={403: ("not-registered",), **_NO_HACKATHON,
                     409: ("wrong-phase", "already-in-team", "team-name-taken",
                           "hackathon-full")},
           beyond_schema=("`challenge_id`: a challenge of this hackathon",)),
    _route("GET", _H + "/teams", "list_teams", REG, TEAMS, "anyone", answer=Page[TeamView],
           paginated=True, problems=_NO_HACKATHON),
    _route("GET", "/teams/{team_id}", "get_team", REG, TEAMS, "anyone", answer=TeamView,
           problems=_NO_TEAM),
    _route("POST", "/teams/{team_id}/members", "join_team", REG, TEAMS, "signed-in",
           limit="writes", body=JoinTeam, answer=TeamView, status=201, publishes=True,
           problems={403: ("wrong-invite-code", "not-registered"), **_NO_TEAM,
                     409: ("wrong-phase", "team-withdrawn", "already-in-team", "team-full")}),
    _route("DELETE", "/teams/{team_id}/members/me", "leave_team", REG, TEAMS, "signed-in",
           limit="writes", status=204, publishes=True,
           problems={403: ("not-a-member",), **_NO_TEAM, 409: ("wrong-phase",)}),
    # ---- submissions
    _route("PUT", "/teams/{team_id}/submission", "submit", SUB, SUBMISSIONS, "signed-in",
           limit="writes", body=SubmissionIn, answer=SubmissionView, publishes=True,
           responses={201: {"model": SubmissionView, "description": "the first version"}},
           problems={403: ("not-a-member",), **_NO_TEAM,
                     409: ("team-withdrawn", "wrong-phase", "deadline-passed",
                           "team-too-small")}),
    _route("GET", "/teams/{team_id}/submission", "read_submission", SUB, SUBMISSIONS,
           "signed-in", answer=SubmissionView,
           problems={403: ("forbidden",), 404: ("submission-not-found",)}),
    _route("GET", _H + "/submissions", "list_submissions", SUB, SUBMISSIONS, "organizer",
           answer=Page[SubmissionView], paginated=True),
    # ---- judging
    _route("POST", _H + "/assignments", "assign_judges", SCO, JUDGING, "organizer",
           limit="writes", answer=AssignmentAnswer, publishes=True,
           problems={**_NO_HACKATHON, 409: ("wrong-phase", "results-published")}),
    _route("GET", "/judging/assignments", "my_assignments", SCO, JUDGING, "signed-in",
           answer=Page[MyAssignment], paginated=True),
    _route("PUT", "/submissions/{submission_id}/scores/me", "score", SCO, JUDGING, "signed-in",
           limit="writes", body=ScoresIn, answer=ScoreAnswer, publishes=True,
           problems={403: ("not-assigned", "conflict-of-interest"),
                     404: ("submission-not-found", "hackathon-not-found"),
                     409: ("results-published", "wrong-phase", "submission-withdrawn")},
           beyond_schema=("`scores`: exactly the rubric's criteria, each within its scale",)),
    _route("GET", _H + "/leaderboard", "leaderboard", SCO, JUDGING, "anyone",
           answer=Leaderboard, problems={403: ("not-published",), **_NO_HACKATHON}),
    _route("POST", _H + "/results", "publish_results", SCO, JUDGING, "organizer",
           limit="writes", answer=Results, status=201, publishes=True,
           problems={**_NO_HACKATHON, 409: ("results-published", "wrong-phase")}),
    _route("GET", _H + "/results", "results", SCO, JUDGING, "anyone", answer=Results,
           problems={404: ("results-not-published",)}),
    # ---- webhooks
    _route("POST", _H + "/webhooks", "add_webhook", NOT, WEBHOOKS, "organizer", limit="writes",
           body=NewWebhook, answer=WebhookView, status=201,
           problems={**_NO_HACKATHON, 409: ("too-many-webhooks",)},
           beyond_schema=("`url`: an http(s) URL of a public address",)),
    _route("GET", _H + "/webhooks", "hackathon_webhooks", NOT, WEBHOOKS, "organizer",
           answer=list[WebhookView]),
    _route("DELETE", _H + "/webhooks/{webhook_id}", "remove_webhook", NOT, WEBHOOKS,
           "organizer", limit="writes", status=204),
    _route("GET", _H + "/webhooks/{webhook_id}/deliveries", "webhook_deliveries", NOT,
           WEBHOOKS, "organizer", answer=Page[WebhookDeliveryView], paginated=True),
    # ---- a 202 write's status monitor (its Link: rel="monitor"), one path per service
    *(_route("GET", f"/deliveries/{service}/{{delivery_id}}", f"{service}_delivery", service,
             DELIVERIES, "anyone", answer=DeliveryView, own_facts=True,
             problems={404: ("delivery-not-found",)})
      for service in (REG, SUB, SCO, NOT)),
)  # fmt: skip


def _endpoint(route: PublicRoute) -> Callable[..., Awaitable[Response]]:
    """The route's handler, with the signature FastAPI reads its parameters from: the path's
    parameters, the body under its public model, and the page's ``limit`` and ``cursor``
    (validated here; the service reads them again from the forwarded query)."""

    async def forward(request: Request, **values: Any) -> Response:
        upstreams: Upstreams = request.app.state.upstreams
        path = route.service_path(values)
        if route.stream:
            return await upstreams.stream(request, route.service, path)
        return await upstreams.forward(request, route.service, path, values.get("body"))

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=Request)]  # fmt: skip
    parameters += [inspect.Parameter(n, keyword, annotation=str) for n in route.parameters]
    if route.body is not None:
        parameters.append(inspect.Parameter("body", keyword, annotation=route.body))
    if route.paginated:
        parameters.append(inspect.Parameter("limit", keyword, annotation=Limit,
                                            default=DEFAULT_LIMIT))  # fmt: skip
        parameters.append(inspect.Parameter("cursor", keyword, annotation=Cursor, default=None))
    forward.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    forward.__name__ = route.name
    return forward


class _MethodNotAllowed:
    """A path's answer to every method the table does not give it: 405 with ``Allow`` naming
    all the methods it has (Starlette's own 405 names only those of the first route that
    matches the path, one of the path's methods when it has several). Plain ASGI, so that it
    matches every method, unknown ones included."""

    def __init__(self, allowed: list[str]) -> None:
        self.allow = ", ".join(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = problem_response(
            405,
            "method-not-allowed",
            f"{scope['method']} is not a method of this path; it has {self.allow}",
            headers={"Allow": self.allow},
        )
        await refusal(scope, receive, send)


def build_router(routes: tuple[PublicRoute, ...] = ROUTES) -> APIRouter:
    # An unknown query parameter is a 422 on every route (docs/input-rules.md).
    router = APIRouter(prefix=PREFIX, dependencies=[Depends(refuse_unknown_query_parameters)])
    methods_of: dict[str, list[str]] = {}
    for route in routes:
        check = ACCESS[route.access]
        dependencies = [Depends(check)] if check is not None else []
        if route.stream:  # declares the query's token (the check reads it itself)
            dependencies.append(Depends(openapi.ACCESS_TOKEN_IN_QUERY))
        if route.limit is not None:
            dependencies.append(LIMITS[route.limit])
        if route.takes_idempotency_key:  # checked and documented here, kept by the service
            dependencies.append(Depends(edge.idempotency_key))
        streamed: dict[str, Any] = {"response_class": Response} if route.stream else {}
        router.add_api_route(
            route.path,
            _endpoint(route),
            methods=[route.method],
            name=route.name,
            status_code=route.status,
            response_model=route.answer,
            responses=openapi.responses_of(route),
            tags=[route.tag],
            dependencies=dependencies,
            openapi_extra=openapi.openapi_extra_of(route),
            **streamed,
        )
        methods_of.setdefault(route.path, []).append(route.method)
    # After every route: a path's own methods match their routes first, anything else this.
    for path, allowed in methods_of.items():
        # An ASGI app, not a function: Starlette matches it to every method (typed as a handler).
        refuse = cast(Callable[[Request], Awaitable[Response]], _MethodNotAllowed(allowed))
        router.add_route(PREFIX + path, refuse, include_in_schema=False)
    return router


router = build_router()
