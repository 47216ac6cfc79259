"""The public routes of API v1, as one table (:data:`ROUTES`). Each entry names its method,
path, owning service, who may call it, the rate limit it counts against, and its public
request and answer models; the same table drives the forwarding and the OpenAPI document
(:func:`build_router`). The service's path is the public one without ``/api/v1``, with every
path parameter forwarded as a single segment."""

from __future__ import annotations

import inspect
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.params import Depends as DependsMarker
from pydantic import BaseModel

from gateway import edge
from gateway.proxy import Upstreams
from hackathon_shared.api.accounts import (
    AccountCreatedAnswer,
    Credentials,
    MeAnswer,
    NewAccount,
    TokenAnswer,
)
from hackathon_shared.api.hackathons import (
    HackathonView,
    JoinTeam,
    JudgeAnswer,
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
from hackathon_shared.api.submissions import SubmissionIn, SubmissionView
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from hackathon_shared.problems import ProblemError

PREFIX = "/api/v1"

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
    name: str  # the operation's name (its id in the OpenAPI document)
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

    @property
    def parameters(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.path) if name]

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
TEAMS, SUBMISSIONS, JUDGING, WEBHOOKS = (
    "registration and teams",
    "submissions",
    "judging",
    "webhooks",
)
REG, SUB, SCO, NOT = "registration", "submissions", "scoring", "notifications"
_H = "/hackathons/{hackathon_id}"

ROUTES: tuple[PublicRoute, ...] = (
    # ---- accounts
    _route("POST", "/accounts", "create_account", REG, ACCOUNTS, "open", limit="sign-up",
           body=NewAccount, answer=AccountCreatedAnswer, status=201),
    _route("POST", "/auth/token", "sign_in", REG, ACCOUNTS, "open", limit="sign-in",
           body=Credentials, answer=TokenAnswer),
    _route("GET", "/me", "me", REG, ACCOUNTS, "signed-in", answer=MeAnswer),
    _route("DELETE", "/me", "erase_me", REG, ACCOUNTS, "signed-in", limit="writes", status=204),
    # ---- notifications
    _route("GET", "/notifications", "my_notifications", NOT, NOTIFICATIONS, "signed-in",
           answer=Page[NotificationView], paginated=True),
    _route("GET", "/notifications/stream", "follow_notifications", NOT, NOTIFICATIONS,
           "stream-reader", stream=True, responses=STREAM_RESPONSES),
    _route("POST", "/notifications/read", "mark_all_read", NOT, NOTIFICATIONS, "signed-in",
           limit="writes", answer=MarkedRead),
    _route("POST", "/notifications/{notification_id}/read", "mark_read", NOT, NOTIFICATIONS,
           "signed-in", limit="writes", answer=NotificationView),
    # ---- hackathons
    _route("POST", "/hackathons", "create_hackathon", REG, HACKATHONS, "organizer",
           limit="writes", body=NewHackathon, answer=HackathonView, status=201),
    _route("GET", "/hackathons", "list_hackathons", REG, HACKATHONS, "anyone",
           answer=Page[HackathonView], paginated=True),
    _route("GET", _H, "get_hackathon", REG, HACKATHONS, "anyone", answer=HackathonView),
    _route("POST", _H + "/phase", "change_phase", REG, HACKATHONS, "organizer", limit="writes",
           body=PhaseChange, answer=HackathonView),
    _route("POST", _H + "/registrations", "register", REG, TEAMS, "signed-in", limit="writes",
           body=NewRegistration, answer=RegistrationAnswer, status=201),
    _route("POST", _H + "/judges", "enrol_judge", REG, TEAMS, "organizer", limit="writes",
           body=NewJudge, answer=JudgeAnswer, status=201),
    # ---- teams
    _route("POST", _H + "/teams", "form_team", REG, TEAMS, "signed-in", limit="writes",
           body=NewTeam, answer=TeamView, status=201),
    _route("GET", _H + "/teams", "list_teams", REG, TEAMS, "anyone", answer=Page[TeamView],
           paginated=True),
    _route("GET", "/teams/{team_id}", "get_team", REG, TEAMS, "anyone", answer=TeamView),
    _route("POST", "/teams/{team_id}/members", "join_team", REG, TEAMS, "signed-in",
           limit="writes", body=JoinTeam, answer=TeamView, status=201),
    _route("DELETE", "/teams/{team_id}/members/me", "leave_team", REG, TEAMS, "signed-in",
           limit="writes", status=204),
    # ---- submissions
    _route("PUT", "/teams/{team_id}/submission", "submit", SUB, SUBMISSIONS, "signed-in",
           limit="writes", body=SubmissionIn, answer=SubmissionView,
           responses={201: {"model": SubmissionView, "description": "the first version"}}),
    _route("GET", "/teams/{team_id}/submission", "read_submission", SUB, SUBMISSIONS,
           "signed-in", answer=SubmissionView),
    _route("GET", _H + "/submissions", "list_submissions", SUB, SUBMISSIONS, "organizer",
           answer=Page[SubmissionView], paginated=True),
    # ---- judging
    _route("POST", _H + "/assignments", "assign_judges", SCO, JUDGING, "organizer",
           limit="writes", answer=AssignmentAnswer),
    _route("GET", "/judging/assignments", "my_assignments", SCO, JUDGING, "signed-in",
           answer=Page[MyAssignment], paginated=True),
    _route("PUT", "/submissions/{submission_id}/scores/me", "score", SCO, JUDGING, "signed-in",
           limit="writes", body=ScoresIn, answer=ScoreAnswer),
    _route("GET", _H + "/leaderboard", "leaderboard", SCO, JUDGING, "anyone",
           answer=Leaderboard),
    _route("POST", _H + "/results", "publish_results", SCO, JUDGING, "organizer",
           limit="writes", answer=Results, status=201),
    _route("GET", _H + "/results", "results", SCO, JUDGING, "anyone", answer=Results),
    # ---- webhooks
    _route("POST", _H + "/webhooks", "add_webhook", NOT, WEBHOOKS, "organizer", limit="writes",
           body=NewWebhook, answer=WebhookView, status=201),
    _route("GET", _H + "/webhooks", "hackathon_webhooks", NOT, WEBHOOKS, "organizer",
           answer=list[WebhookView]),
    _route("DELETE", _H + "/webhooks/{webhook_id}", "remove_webhook", NOT, WEBHOOKS,
           "organizer", limit="writes", status=204),
    _route("GET", _H + "/webhooks/{webhook_id}/deliveries", "webhook_deliveries", NOT,
           WEBHOOKS, "organizer", answer=Page[WebhookDeliveryView], paginated=True),
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
    if route.stream:
        query = Annotated[str | None, Query(description="for EventSource clients")]
        parameters.append(inspect.Parameter("access_token", keyword, annotation=query,
                                            default=None))  # fmt: skip
    forward.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    forward.__name__ = route.name
    return forward


def build_router(routes: tuple[PublicRoute, ...] = ROUTES) -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    for route in routes:
        check = ACCESS[route.access]
        dependencies = [Depends(check)] if check is not None else []
        if route.limit is not None:
            dependencies.append(LIMITS[route.limit])
        streamed: dict[str, Any] = {"response_class": Response} if route.stream else {}
        router.add_api_route(
            route.path,
            _endpoint(route),
            methods=[route.method],
            name=route.name,
            status_code=route.status,
            response_model=route.answer,
            responses=dict(route.responses),
            tags=[route.tag],
            dependencies=dependencies,
            **streamed,
        )
    return router


router = build_router()
