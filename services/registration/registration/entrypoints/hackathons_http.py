"""HTTP entrypoints for hackathons, participants' registrations and judges."""

from __future__ import annotations

from fastapi import APIRouter

from hackathon_shared.api.hackathons import (
    HackathonView,
    JudgeAnswer,
    JudgeConflicts,
    JudgeListing,
    JudgeView,
    MyRegistration,
    NewHackathon,
    NewJudge,
    NewRegistration,
    PhaseChange,
    RegistrationAnswer,
)
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from hackathon_shared.service_app import CAUGHT_UP, RequestId
from registration.entrypoints.dependencies import (
    HackathonsService,
    LiveOrganizer,
    LivePrincipal,
)

router = APIRouter()


@router.post("/hackathons", status_code=201, response_model=HackathonView)
async def create_hackathon(
    body: NewHackathon, organizer: LiveOrganizer, service: HackathonsService, request_id: RequestId
) -> HackathonView:
    return await service.create(body, organizer.account_id, request_id)


@router.get("/hackathons", response_model=Page[HackathonView], dependencies=[CAUGHT_UP])
async def list_hackathons(
    service: HackathonsService, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[HackathonView]:
    items, next_cursor = await service.page(limit, cursor)
    return Page[HackathonView](items=items, next_cursor=next_cursor)


@router.get("/hackathons/{hackathon_id}", response_model=HackathonView, dependencies=[CAUGHT_UP])
async def get_hackathon(hackathon_id: str, service: HackathonsService) -> HackathonView:
    return await service.get(hackathon_id)


@router.post("/hackathons/{hackathon_id}/phase", response_model=HackathonView)
async def change_phase(
    hackathon_id: str,
    body: PhaseChange,
    organizer: LiveOrganizer,
    service: HackathonsService,
    request_id: RequestId,
) -> HackathonView:
    return await service.change_phase(hackathon_id, body.phase, organizer.account_id, request_id)


@router.post(
    "/hackathons/{hackathon_id}/registrations",
    status_code=201,
    response_model=RegistrationAnswer,
)
async def register(
    hackathon_id: str,
    body: NewRegistration,
    principal: LivePrincipal,
    service: HackathonsService,
    request_id: RequestId,
) -> RegistrationAnswer:
    participant = await service.register_participant(
        hackathon_id, principal.account_id, body.sector, request_id
    )
    return RegistrationAnswer(participant_id=participant.participant_id)


@router.post(
    "/hackathons/{hackathon_id}/judges",
    status_code=201,
    response_model=JudgeAnswer,
    dependencies=[CAUGHT_UP],
)
async def enrol_judge(
    hackathon_id: str,
    body: NewJudge,
    _organizer: LiveOrganizer,
    service: HackathonsService,
    request_id: RequestId,
) -> JudgeAnswer:
    judge_id = await service.enrol_judge(hackathon_id, body.email, body.conflicts, request_id)
    return JudgeAnswer(judge_id=judge_id)


@router.put(
    "/hackathons/{hackathon_id}/judges/{judge_id}/conflicts",
    response_model=JudgeView,
    dependencies=[CAUGHT_UP],
)
async def change_judge_conflicts(
    hackathon_id: str,
    judge_id: str,
    body: JudgeConflicts,
    organizer: LiveOrganizer,
    service: HackathonsService,
    request_id: RequestId,
) -> JudgeView:
    judge = await service.change_conflicts(
        hackathon_id, judge_id, body.conflicts, organizer.account_id, request_id
    )
    return JudgeView(
        hackathon_id=judge.hackathon_id, judge_id=judge.account_id, conflicts=judge.conflicts
    )


@router.get("/me/registrations", response_model=list[MyRegistration])
async def my_registrations(
    principal: LivePrincipal, service: HackathonsService
) -> list[MyRegistration]:
    """The caller's registrations, each with the consent given: the policy version and when
    (the account page shows them)."""
    rows = await service.registrations_of(principal.account_id)
    return [
        MyRegistration(
            hackathon_id=row.hackathon_id,
            participant_id=row.participant_id,
            sector=row.sector,
            consent_policy_version=row.consent_version,
            consented_at=row.consented_at,
        )
        for row in rows
    ]


@router.get("/me/judge-enrolments", response_model=list[JudgeView])
async def my_judge_enrolments(
    principal: LivePrincipal, service: HackathonsService
) -> list[JudgeView]:
    """The hackathons the caller judges, with the conflicts declared for each (teams they
    are or were a member of conflict too, without being listed: docs/scoring.md)."""
    rows = await service.judge_enrolments_of(principal.account_id)
    return [
        JudgeView(hackathon_id=row.hackathon_id, judge_id=row.account_id, conflicts=row.conflicts)
        for row in rows
    ]


@router.get("/hackathons/{hackathon_id}/judges", response_model=list[JudgeListing])
async def list_judges(
    hackathon_id: str, _organizer: LiveOrganizer, service: HackathonsService
) -> list[JudgeListing]:
    """The hackathon's judges with their declared conflicts (organizers: the web app's page
    to change them)."""
    return [
        JudgeListing(
            hackathon_id=judge.hackathon_id,
            judge_id=judge.account_id,
            display_name=account.display_name if account else None,
            email=account.email if account else None,
            conflicts=judge.conflicts,
        )
        for judge, account in await service.judges_of(hackathon_id)
    ]
