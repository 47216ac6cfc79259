"""HTTP entrypoints for teams."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hackathon_shared.api.hackathons import JoinTeam, NewTeam, TeamView
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from hackathon_shared.service_app import RequestId
from registration.entrypoints.dependencies import (
    LivePrincipal,
    MaybeLivePrincipal,
    TeamsService,
)

router = APIRouter()


@router.post("/hackathons/{hackathon_id}/teams", status_code=201, response_model=TeamView)
async def form_team(
    hackathon_id: str,
    body: NewTeam,
    principal: LivePrincipal,
    service: TeamsService,
    request_id: RequestId,
) -> TeamView:
    return await service.create(
        hackathon_id, principal.account_id, body.name, body.challenge_id, request_id
    )


@router.get(
    "/hackathons/{hackathon_id}/teams",
    response_model=Page[TeamView],
    response_model_exclude_unset=True,
)
async def list_teams(
    hackathon_id: str,
    service: TeamsService,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TeamView]:
    items, next_cursor = await service.page(hackathon_id, limit, cursor)
    return Page[TeamView](items=items, next_cursor=next_cursor)


@router.get("/teams/{team_id}", response_model=TeamView, response_model_exclude_unset=True)
async def get_team(team_id: str, principal: MaybeLivePrincipal, service: TeamsService) -> TeamView:
    return await service.get(team_id, principal.account_id if principal else None)


@router.post("/teams/{team_id}/members", status_code=201, response_model=TeamView)
async def join_team(
    team_id: str,
    body: JoinTeam,
    principal: LivePrincipal,
    service: TeamsService,
    request_id: RequestId,
) -> TeamView:
    return await service.join(team_id, principal.account_id, body.invite_code, request_id)


@router.delete("/teams/{team_id}/members/me", status_code=204)
async def leave_team(
    team_id: str, principal: LivePrincipal, service: TeamsService, request_id: RequestId
) -> Response:
    await service.leave(team_id, principal.account_id, request_id)
    return Response(status_code=204)
