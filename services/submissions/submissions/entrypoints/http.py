"""HTTP entrypoints of the submissions service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from hackathon_shared.api.submissions import SubmissionIn, SubmissionView
from hackathon_shared.auth import CurrentPrincipal, Organizer
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from hackathon_shared.service_app import RequestId, Runtime
from submissions.service.submissions import Submissions

router = APIRouter()


async def submissions(runtime: Runtime) -> Submissions:
    return Submissions(runtime.db, runtime.outbox)


Service = Annotated[Submissions, Depends(submissions)]


@router.put("/teams/{team_id}/submission", response_model=SubmissionView)
async def submit(
    team_id: str,
    body: SubmissionIn,
    principal: CurrentPrincipal,
    service: Service,
    request_id: RequestId,
    response: Response,
) -> SubmissionView:
    view, first = await service.submit(team_id, principal, body, request_id)
    response.status_code = 201 if first else 200
    return view


@router.get("/teams/{team_id}/submission", response_model=SubmissionView)
async def read(team_id: str, principal: CurrentPrincipal, service: Service) -> SubmissionView:
    return await service.read(team_id, principal)


@router.get("/hackathons/{hackathon_id}/submissions", response_model=Page[SubmissionView])
async def list_submissions(
    hackathon_id: str,
    _organizer: Organizer,
    service: Service,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SubmissionView]:
    items, next_cursor = await service.page(hackathon_id, limit, cursor)
    return Page[SubmissionView](items=items, next_cursor=next_cursor)
