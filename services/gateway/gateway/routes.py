"""The public routes of API v1. Each route declares its public request and answer models (so
the OpenAPI document describes them) and forwards to the owning service."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response

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
from hackathon_shared.api.notifications import NotificationView
from hackathon_shared.api.submissions import SubmissionIn, SubmissionView
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/api/v1")


def upstreams(request: Request) -> Upstreams:
    found: Upstreams = request.app.state.upstreams
    return found


Services = Annotated[Upstreams, Depends(upstreams)]


@router.post("/accounts", status_code=201, response_model=AccountCreatedAnswer, tags=["accounts"])
async def create_account(body: NewAccount, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/accounts", body)


@router.post("/auth/token", response_model=TokenAnswer, tags=["accounts"])
async def sign_in(body: Credentials, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/auth/token", body)


@router.get("/me", response_model=MeAnswer, tags=["accounts"])
async def me(request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/me")


@router.get("/notifications", response_model=Page[NotificationView], tags=["notifications"])
async def my_notifications(
    request: Request,
    services: Services,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    return await services.forward(request, "notifications", "/notifications")


@router.delete("/me", status_code=204, tags=["accounts"])
async def erase_me(request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/me")


# ---- hackathons -------------------------------------------------------------------------


@router.post("/hackathons", status_code=201, response_model=HackathonView, tags=["hackathons"])
async def create_hackathon(body: NewHackathon, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/hackathons", body)


@router.get("/hackathons", response_model=Page[HackathonView], tags=["hackathons"])
async def list_hackathons(
    request: Request, services: Services, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    return await services.forward(request, "registration", "/hackathons")


@router.get("/hackathons/{hackathon_id}", response_model=HackathonView, tags=["hackathons"])
async def get_hackathon(hackathon_id: str, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", f"/hackathons/{quote(hackathon_id)}")


@router.post("/hackathons/{hackathon_id}/phase", response_model=HackathonView, tags=["hackathons"])
async def change_phase(
    hackathon_id: str, body: PhaseChange, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/phase"
    return await services.forward(request, "registration", path, body)


@router.post(
    "/hackathons/{hackathon_id}/registrations",
    status_code=201,
    response_model=RegistrationAnswer,
    tags=["registration and teams"],
)
async def register(
    hackathon_id: str, body: NewRegistration, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/registrations"
    return await services.forward(request, "registration", path, body)


@router.post(
    "/hackathons/{hackathon_id}/judges",
    status_code=201,
    response_model=JudgeAnswer,
    tags=["registration and teams"],
)
async def enrol_judge(
    hackathon_id: str, body: NewJudge, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/judges"
    return await services.forward(request, "registration", path, body)


# ---- teams ------------------------------------------------------------------------------


@router.post(
    "/hackathons/{hackathon_id}/teams",
    status_code=201,
    response_model=TeamView,
    tags=["registration and teams"],
)
async def form_team(
    hackathon_id: str, body: NewTeam, request: Request, services: Services
) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/teams"
    return await services.forward(request, "registration", path, body)


@router.get(
    "/hackathons/{hackathon_id}/teams",
    response_model=Page[TeamView],
    tags=["registration and teams"],
)
async def list_teams(
    hackathon_id: str,
    request: Request,
    services: Services,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/teams"
    return await services.forward(request, "registration", path)


@router.get("/teams/{team_id}", response_model=TeamView, tags=["registration and teams"])
async def get_team(team_id: str, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", f"/teams/{quote(team_id)}")


@router.post(
    "/teams/{team_id}/members",
    status_code=201,
    response_model=TeamView,
    tags=["registration and teams"],
)
async def join_team(team_id: str, body: JoinTeam, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", f"/teams/{quote(team_id)}/members", body)


@router.delete("/teams/{team_id}/members/me", status_code=204, tags=["registration and teams"])
async def leave_team(team_id: str, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", f"/teams/{quote(team_id)}/members/me")


# ---- submissions ------------------------------------------------------------------------


@router.put(
    "/teams/{team_id}/submission",
    response_model=SubmissionView,
    responses={201: {"model": SubmissionView, "description": "the first version"}},
    tags=["submissions"],
)
async def submit(
    team_id: str, body: SubmissionIn, request: Request, services: Services
) -> Response:
    path = f"/teams/{quote(team_id)}/submission"
    return await services.forward(request, "submissions", path, body)


@router.get("/teams/{team_id}/submission", response_model=SubmissionView, tags=["submissions"])
async def read_submission(team_id: str, request: Request, services: Services) -> Response:
    return await services.forward(request, "submissions", f"/teams/{quote(team_id)}/submission")


@router.get(
    "/hackathons/{hackathon_id}/submissions",
    response_model=Page[SubmissionView],
    tags=["submissions"],
)
async def list_submissions(
    hackathon_id: str,
    request: Request,
    services: Services,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/submissions"
    return await services.forward(request, "submissions", path)


# ---- judging ----------------------------------------------------------------------------


@router.post(
    "/hackathons/{hackathon_id}/assignments", response_model=AssignmentAnswer, tags=["judging"]
)
async def assign_judges(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/assignments"
    return await services.forward(request, "scoring", path)


@router.get("/judging/assignments", response_model=Page[MyAssignment], tags=["judging"])
async def my_assignments(
    request: Request, services: Services, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    return await services.forward(request, "scoring", "/judging/assignments")


@router.put("/submissions/{submission_id}/scores/me", response_model=ScoreAnswer, tags=["judging"])
async def score(
    submission_id: str, body: ScoresIn, request: Request, services: Services
) -> Response:
    path = f"/submissions/{quote(submission_id)}/scores/me"
    return await services.forward(request, "scoring", path, body)


@router.get("/hackathons/{hackathon_id}/leaderboard", response_model=Leaderboard, tags=["judging"])
async def leaderboard(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/leaderboard"
    return await services.forward(request, "scoring", path)


@router.post(
    "/hackathons/{hackathon_id}/results",
    status_code=201,
    response_model=Results,
    tags=["judging"],
)
async def publish_results(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/results"
    return await services.forward(request, "scoring", path)


@router.get("/hackathons/{hackathon_id}/results", response_model=Results, tags=["judging"])
async def results(hackathon_id: str, request: Request, services: Services) -> Response:
    path = f"/hackathons/{quote(hackathon_id)}/results"
    return await services.forward(request, "scoring", path)
