"""A person's own registrations with the consent they gave, and the hackathons they judge with
their declared conflicts (GET /me/registrations, GET /me/judge-enrolments): what the web
app's account and judging pages show."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.journey_helpers import (
    assert_problem,
    create_hackathon,
    create_team,
    new_person,
    parse_time,
    participant,
    register,
)
from tests.platform_fixtures import Api


async def test_a_person_sees_each_consent_they_gave(api: Api) -> None:
    first = await create_hackathon(api, phase="registration")
    second = await create_hackathon(api, phase="registration")
    before = datetime.now(UTC)
    ada = await participant(api, first, "Ada")
    await register(api, second, ada)
    answer = await api.http.get("/me/registrations", headers=ada.auth)
    assert answer.status_code == 200, answer.text
    mine = answer.json()
    assert [r["hackathon_id"] for r in mine] == [first.hackathon_id, second.hackathon_id]
    for registration in mine:
        assert registration["sector"] == "academia"
        assert registration["consent_policy_version"] == "2026-01"
        assert parse_time(registration["consented_at"]) >= before.replace(microsecond=0)
    # Someone else's are not shown; nobody signed out sees any.
    bo = await new_person(api, "Bo")
    assert (await api.http.get("/me/registrations", headers=bo.auth)).json() == []
    assert_problem(await api.http.get("/me/registrations"), 401, "unauthenticated")


async def test_a_judge_sees_the_conflicts_declared_for_them(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    captain = await participant(api, hackathon, "Captain")
    team = await create_team(api, hackathon, captain)
    judge = await new_person(api, "Judge")
    enrolled = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/judges",
        headers=await api.organizer(),
        json={"email": judge.email, "conflicts": [team["team_id"]]},
    )
    assert enrolled.status_code == 201, enrolled.text
    answer = await api.http.get("/me/judge-enrolments", headers=judge.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "hackathon_id": hackathon.hackathon_id,
            "judge_id": judge.account_id,
            "conflicts": [team["team_id"]],
        }
    ]
    assert (await api.http.get("/me/judge-enrolments", headers=captain.auth)).json() == []
    # The organizers see the hackathon's judges, with who they are and their conflicts.
    listed = await api.http.get(
        f"/hackathons/{hackathon.hackathon_id}/judges", headers=await api.organizer()
    )
    assert listed.status_code == 200, listed.text
    assert listed.json() == [
        {
            "hackathon_id": hackathon.hackathon_id,
            "judge_id": judge.account_id,
            "display_name": "Judge",
            "email": judge.email.lower(),  # as registration keeps it, normalised
            "conflicts": [team["team_id"]],
        }
    ]
    refused = await api.http.get(f"/hackathons/{hackathon.hackathon_id}/judges", headers=judge.auth)
    assert_problem(refused, 403, "forbidden")
    missing = await api.http.get("/hackathons/hck_nope/judges", headers=await api.organizer())
    assert_problem(missing, 404, "hackathon-not-found")
