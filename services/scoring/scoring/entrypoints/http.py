"""HTTP entrypoints of the scoring service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from hackathon_shared.api.judging import (
    AssignmentAnswer,
    Leaderboard,
    MyAssignment,
    Results,
    ScoreAnswer,
    ScoresIn,
)
from hackathon_shared.auth import CurrentPrincipal, MaybePrincipal, Organizer
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from hackathon_shared.service_app import RequestId, Runtime
from scoring.service.judging import Judging

router = APIRouter()


async def judging(runtime: Runtime) -> Judging:
    return Judging(runtime.db, runtime.outbox)


Service = Annotated[Judging, Depends(judging)]


@router.post("/hackathons/{hackathon_id}/assignments", response_model=AssignmentAnswer)
async def assign(
    hackathon_id: str, _organizer: Organizer, service: Service, request_id: RequestId
) -> AssignmentAnswer:
    return await service.assign(hackathon_id, request_id)


@router.get("/judging/assignments", response_model=Page[MyAssignment])
async def my_assignments(
    principal: CurrentPrincipal,
    service: Service,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[MyAssignment]:
    items, next_cursor = await service.my_assignments(principal.account_id, limit, cursor)
    return Page[MyAssignment](items=items, next_cursor=next_cursor)


@router.put("/submissions/{submission_id}/scores/me", response_model=ScoreAnswer)
async def score(
    submission_id: str,
    body: ScoresIn,
    principal: CurrentPrincipal,
    service: Service,
    request_id: RequestId,
) -> ScoreAnswer:
    return await service.score(submission_id, principal, body.scores, body.comment, request_id)


@router.get("/hackathons/{hackathon_id}/leaderboard", response_model=Leaderboard)
async def leaderboard(
    hackathon_id: str, principal: MaybePrincipal, service: Service
) -> Leaderboard:
    return await service.leaderboard(hackathon_id, principal)


@router.post("/hackathons/{hackathon_id}/results", status_code=201, response_model=Results)
async def publish_results(
    hackathon_id: str, organizer: Organizer, service: Service, request_id: RequestId
) -> Results:
    return await service.publish_results(hackathon_id, organizer.account_id, request_id)


@router.get("/hackathons/{hackathon_id}/results", response_model=Results)
async def results(hackathon_id: str, service: Service) -> Results:
    return await service.results(hackathon_id)
