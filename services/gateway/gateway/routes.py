"""The public routes of API v1. Each route declares its public request and answer models (so
the OpenAPI document describes them) and forwards to the owning service."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response

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

router = APIRouter(prefix="/api/v1")


def upstreams(request: Request) -> Upstreams:
    found: Upstreams = request.app.state.upstreams
    return found


Services = Annotated[Upstreams, Depends(upstreams)]


def segment(value: str) -> str:
    """A path parameter as exactly one path segment of the service's URL: a slash or a dot
    segment in an id cannot make the request reach another of the service's routes."""
    if value in (".", ".."):
        raise ProblemError(404, "not-found", "no such resource")
    return quote(value, safe="")


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountCreatedAnswer,
    tags=["accounts"],
    dependencies=[edge.SignUpLimit],
)
async def create_account(body: NewAccount, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/accounts", body)


@router.post(
    "/auth/token", response_model=TokenAnswer, tags=["accounts"], dependencies=[edge.SignInLimit]
)
async def sign_in(body: Credentials, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/auth/token", body)


@router.get(
    "/me", response_model=MeAnswer, tags=["accounts"], dependencies=[Depends(edge.signed_in)]
)
async def me(request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/me")


@router.get(
    "/notifications",
    response_model=Page[NotificationView],
    tags=["notifications"],
    dependencies=[Depends(edge.signed_in)],
)
async def my_notifications(
    request: Request,
    services: Services,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    return await services.forward(request, "notifications", "/notifications")


@router.get(
    "/notifications/stream",
    tags=["notifications"],
    response_class=Response,
    responses={
        200: {
            "description": "Server-Sent Events: an event `notification` (data: the notification "
            "as in the feed, id: its notification_id) for each new notification of the caller; "
            "comments keep the connection alive. A browser's EventSource, which cannot send "
            "headers, may pass the token as `access_token` in the query.",
            "content": {"text/event-stream": {}},
        }
    },
    dependencies=[Depends(edge.stream_reader)],
)
async def follow_notifications(
    request: Request,
    services: Services,
    access_token: Annotated[str | None, Query(description="for EventSource clients")] = None,
) -> Response:
    return await services.stream(request, "notifications", "/notifications/stream")


@router.post(
    "/notifications/read",
    response_model=MarkedRead,
    tags=["notifications"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def mark_all_read(request: Request, services: Services) -> Response:
    return await services.forward(request, "notifications", "/notifications/read")


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationView,
    tags=["notifications"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def mark_read(notification_id: str, request: Request, services: Services) -> Response:
    path = f"/notifications/{segment(notification_id)}/read"
    return await services.forward(request, "notifications", path)


@router.delete(
    "/me",
    status_code=204,
    tags=["accounts"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def erase_me(request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/me")


# ---- hackathons -------------------------------------------------------------------------


@router.post(
    "/hackathons",
    status_code=201,
    response_model=HackathonView,
    tags=["hackathons"],
    dependencies=[Depends(edge.organizer), edge.WriteLimit],
)
async def create_hackathon(body: NewHackathon, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/hackathons", body)


@router.get(
    "/hackathons",
    response_model=Page[HackathonView],
    tags=["hackathons"],
    dependencies=[Depends(edge.maybe_signed_in)],
)
async def list_hackathons(
    request: Request, services: Services, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    return await services.forward(request, "registration", "/hackathons")


@router.get(
    "/hackathons/{hackathon_id}",
    response_model=HackathonView,
    tags=["hackathons"],
    dependencies=[Depends(edge.maybe_signed_in)],
)
async def get_hackathon(hackathon_id: str, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", f"/hackathons/{segment(hackathon_id)}")


@router.post(
    "/hackathons/{hackathon_id}/phase",
    response_model=HackathonView,
    tags=["hackathons"],
    dependencies=[Depends(edge.organizer), edge.WriteLimit],
)
async def change_phase(
    hackathon_id: str, body: PhaseChange, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/phase"
    return await services.forward(request, "registration", path, body)


@router.post(
    "/hackathons/{hackathon_id}/registrations",
    status_code=201,
    response_model=RegistrationAnswer,
    tags=["registration and teams"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def register(
    hackathon_id: str, body: NewRegistration, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/registrations"
    return await services.forward(request, "registration", path, body)


@router.post(
    "/hackathons/{hackathon_id}/judges",
    status_code=201,
    response_model=JudgeAnswer,
    tags=["registration and teams"],
    dependencies=[Depends(edge.organizer), edge.WriteLimit],
)
async def enrol_judge(
    hackathon_id: str, body: NewJudge, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/judges"
    return await services.forward(request, "registration", path, body)


# ---- teams ------------------------------------------------------------------------------


@router.post(
    "/hackathons/{hackathon_id}/teams",
    status_code=201,
    response_model=TeamView,
    tags=["registration and teams"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def form_team(
    hackathon_id: str, body: NewTeam, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/teams"
    return await services.forward(request, "registration", path, body)


@router.get(
    "/hackathons/{hackathon_id}/teams",
    response_model=Page[TeamView],
    tags=["registration and teams"],
    dependencies=[Depends(edge.maybe_signed_in)],
)
async def list_teams(
    hackathon_id: str,
    request: Request,
    services: Services,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/teams"
    return await services.forward(request, "registration", path)


@router.get(
    "/teams/{team_id}",
    response_model=TeamView,
    tags=["registration and teams"],
    dependencies=[Depends(edge.maybe_signed_in)],
)
async def get_team(team_id: str, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", f"/teams/{segment(team_id)}")


@router.post(
    "/teams/{team_id}/members",
    status_code=201,
    response_model=TeamView,
    tags=["registration and teams"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def join_team(team_id: str, body: JoinTeam, request: Request, services: Services) -> Response:
    return await services.forward(
        request, "registration", f"/teams/{segment(team_id)}/members", body
    )


@router.delete(
    "/teams/{team_id}/members/me",
    status_code=204,
    tags=["registration and teams"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def leave_team(team_id: str, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", f"/teams/{segment(team_id)}/members/me")


# ---- submissions ------------------------------------------------------------------------


@router.put(
    "/teams/{team_id}/submission",
    response_model=SubmissionView,
    responses={201: {"model": SubmissionView, "description": "the first version"}},
    tags=["submissions"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def submit(
    team_id: str, body: SubmissionIn, request: Request, services: Services
) -> Response:
    path = f"/teams/{segment(team_id)}/submission"
    return await services.forward(request, "submissions", path, body)


@router.get(
    "/teams/{team_id}/submission",
    response_model=SubmissionView,
    tags=["submissions"],
    dependencies=[Depends(edge.signed_in)],
)
async def read_submission(team_id: str, request: Request, services: Services) -> Response:
    return await services.forward(request, "submissions", f"/teams/{segment(team_id)}/submission")


@router.get(
    "/hackathons/{hackathon_id}/submissions",
    response_model=Page[SubmissionView],
    tags=["submissions"],
    dependencies=[Depends(edge.organizer)],
)
async def list_submissions(
    hackathon_id: str,
    request: Request,
    services: Services,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/submissions"
    return await services.forward(request, "submissions", path)


# ---- judging ----------------------------------------------------------------------------


@router.post(
    "/hackathons/{hackathon_id}/assignments",
    response_model=AssignmentAnswer,
    tags=["judging"],
    dependencies=[Depends(edge.organizer), edge.WriteLimit],
)
async def assign_judges(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/assignments"
    return await services.forward(request, "scoring", path)


@router.get(
    "/judging/assignments",
    response_model=Page[MyAssignment],
    tags=["judging"],
    dependencies=[Depends(edge.signed_in)],
)
async def my_assignments(
    request: Request, services: Services, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    return await services.forward(request, "scoring", "/judging/assignments")


@router.put(
    "/submissions/{submission_id}/scores/me",
    response_model=ScoreAnswer,
    tags=["judging"],
    dependencies=[Depends(edge.signed_in), edge.WriteLimit],
)
async def score(
    submission_id: str, body: ScoresIn, request: Request, services: Services
) -> Response:
    path = f"/submissions/{segment(submission_id)}/scores/me"
    return await services.forward(request, "scoring", path, body)


@router.get(
    "/hackathons/{hackathon_id}/leaderboard",
    response_model=Leaderboard,
    tags=["judging"],
    dependencies=[Depends(edge.maybe_signed_in)],
)
async def leaderboard(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/leaderboard"
    return await services.forward(request, "scoring", path)


@router.post(
    "/hackathons/{hackathon_id}/results",
    status_code=201,
    response_model=Results,
    tags=["judging"],
    dependencies=[Depends(edge.organizer), edge.WriteLimit],
)
async def publish_results(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/results"
    return await services.forward(request, "scoring", path)


@router.get(
    "/hackathons/{hackathon_id}/results",
    response_model=Results,
    tags=["judging"],
    dependencies=[Depends(edge.maybe_signed_in)],
)
async def results(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/results"
    return await services.forward(request, "scoring", path)


# ---- webhooks ---------------------------------------------------------------------------


@router.post(
    "/hackathons/{hackathon_id}/webhooks",
    status_code=201,
    response_model=WebhookView,
    tags=["webhooks"],
    dependencies=[Depends(edge.organizer), edge.WriteLimit],
)
async def add_webhook(
    hackathon_id: str, body: NewWebhook, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/webhooks"
    return await services.forward(request, "notifications", path, body)


@router.get(
    "/hackathons/{hackathon_id}/webhooks",
    response_model=list[WebhookView],
    tags=["webhooks"],
    dependencies=[Depends(edge.organizer)],
)
async def hackathon_webhooks(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/webhooks"
    return await services.forward(request, "notifications", path)


@router.delete(
    "/hackathons/{hackathon_id}/webhooks/{webhook_id}",
    status_code=204,
    tags=["webhooks"],
    dependencies=[Depends(edge.organizer), edge.WriteLimit],
)
async def remove_webhook(
    hackathon_id: str, webhook_id: str, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/webhooks/{segment(webhook_id)}"
    return await services.forward(request, "notifications", path)


@router.get(
    "/hackathons/{hackathon_id}/webhooks/{webhook_id}/deliveries",
    response_model=Page[WebhookDeliveryView],
    tags=["webhooks"],
    dependencies=[Depends(edge.organizer)],
)
async def webhook_deliveries(
    hackathon_id: str,
    webhook_id: str,
    request: Request,
    services: Services,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    path = f"/hackathons/{segment(hackathon_id)}/webhooks/{segment(webhook_id)}/deliveries"
    return await services.forward(request, "notifications", path)
