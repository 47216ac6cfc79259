"""Erasure frees what the person held, on the session's platform (real services, broker and
databases): an erased member leaves their team in the erasure's own transaction, announced
with the usual `TeamMemberLeft` (the captaincy passing on to the longest-standing remaining
member), the seat is free for the next person, an erased sole member's team is withdrawn (and
its submission with it), and the audit of the whole log still comes out clean. Teams already
being judged stay as they were judged (docs/erasure.md)."""

from __future__ import annotations

import secrets
from typing import Any

from audit.report import render
from audit.verify import verify
from hackathon_shared.events.catalogue import (
    AccountErased,
    TeamMemberLeft,
    TeamWithdrawn,
)
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.topics import REGISTRATION_EVENTS
from tests.journey_helpers import (
    Hackathon,
    Person,
    assert_problem,
    create_hackathon,
    every_item,
    join,
    move_to,
    participant,
    platform_log,
    read_topics,
    submit,
    team_of,
    team_view,
)
from tests.platform_fixtures import Api
from tests.polling import wait_until
from tests.test_audit_broker import cli

Json = dict[str, Any]


async def erase(api: Api, person: Person) -> str:
    """``DELETE /me`` for ``person``; returns the request id the erasure was made under."""
    request_id = f"erase-{secrets.token_hex(6)}"
    answer = await api.http.delete("/me", headers={**person.auth, "X-Request-ID": request_id})
    assert answer.status_code == 204, answer.text
    return request_id


def join_request(api: Api, team: Json, person: Person) -> Any:
    return api.http.post(
        f"/teams/{team['team_id']}/members",
        headers=person.auth,
        json={"invite_code": team["invite_code"]},
    )


async def events_of(api: Api, aggregate_ids: set[str]) -> list[Envelope]:
    """Registration's events about these aggregates, each aggregate's in its order."""
    events = await read_topics(api.platform, [REGISTRATION_EVENTS])
    return [e for e in events if e.aggregate_id in aggregate_ids]


async def audit_is_clean(api: Api, hackathon: Hackathon, *, command: bool = False) -> None:
    """The auditors' verification of the hackathon, from the broker, in this process (until
    the last asynchronous consequences, such as a submission's withdrawal, are in the log),
    and with ``command`` then as the auditors' command too: clean, exit status 0."""
    platform = api.platform
    hid = hackathon.hackathon_id
    seen: list[str] = []

    async def clean() -> bool:
        records = await platform_log(platform)
        report = verify(records, hackathons=[hid])
        seen[:] = [render(report)]
        return report.clean

    await wait_until(clean, timeout=60, interval=0.5, message=lambda: f"not clean: {seen}")
    if not command:
        return
    code, out, err = await cli(
        "audit",
        "verify",
        "--bootstrap-servers",
        platform.bootstrap_servers,
        "--topic-prefix",
        platform.config.topic_prefix,
        "--hackathon",
        hid,
        "--keys",
        str(platform.keys.trusted),
    )
    assert code == 0, (out, err)
    assert "CLEAN" in out


async def test_an_erased_captain_leaves_and_the_next_person_takes_the_seat(api: Api) -> None:
    hackathon = await create_hackathon(api, max_team_size=2)
    mia = await participant(api, hackathon, "Mia")
    ned = await participant(api, hackathon, "Ned")
    pia = await participant(api, hackathon, "Pia")
    team = await team_of(api, hackathon, mia, ned)
    assert_problem(await join_request(api, team, pia), 409, "team-full")

    request_id = await erase(api, mia)

    shown = await team_view(api, team["team_id"])
    assert shown["members"] == [{"account_id": ned.account_id, "display_name": "Ned"}]
    assert (shown["captain_id"], shown["status"]) == (ned.account_id, "active")
    listed = await every_item(api, f"/hackathons/{hackathon.hackathon_id}/teams")
    assert [t["members"] for t in listed] == [shown["members"]]
    joined = await join(api, team, pia)
    assert [m["account_id"] for m in joined["members"]] == [ned.account_id, pia.account_id]

    events = await events_of(api, {team["team_id"], mia.account_id})
    left = [e for e in events if isinstance(e, TeamMemberLeft)]
    assert [(e.payload.account_id, e.payload.new_captain_id) for e in left] == [
        (mia.account_id, ned.account_id)
    ]
    assert left[0].correlation_id == request_id
    [erased] = [e for e in events if isinstance(e, AccountErased)]
    assert erased.correlation_id == request_id
    await audit_is_clean(api, hackathon, command=True)


async def test_an_erased_sole_member_withdraws_the_team_and_its_submission(api: Api) -> None:
    hackathon = await create_hackathon(api, max_teams=1)
    solo = await participant(api, hackathon, "Solo")
    team = await team_of(api, hackathon, solo)
    await move_to(api, hackathon, "hacking")
    await submit(api, team["team_id"], solo)

    await erase(api, solo)

    shown = await team_view(api, team["team_id"])
    assert (shown["members"], shown["status"]) == ([], "withdrawn")
    organizer = await api.organizer()
    [submission] = await every_item(
        api, f"/hackathons/{hackathon.hackathon_id}/submissions", organizer
    )
    assert submission["status"] == "withdrawn"
    # The hackathon's one team slot and the team's name are free again.
    newcomer = await participant(api, hackathon, "Newcomer")
    again = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/teams",
        headers=newcomer.auth,
        json={"name": team["name"], "challenge_id": hackathon.challenge_ids[0]},
    )
    assert again.status_code == 201, again.text

    events = await events_of(api, {team["team_id"]})
    changes = [e for e in events if isinstance(e, TeamMemberLeft | TeamWithdrawn)]
    assert [type(e) for e in changes] == [TeamMemberLeft, TeamWithdrawn]
    left, withdrawn = changes
    assert isinstance(left, TeamMemberLeft) and isinstance(withdrawn, TeamWithdrawn)
    assert (left.payload.account_id, left.payload.new_captain_id) == (solo.account_id, None)
    assert withdrawn.payload.reason == "its last member's account was erased"
    await audit_is_clean(api, hackathon)


async def test_a_team_being_judged_keeps_its_erased_member_on_record(api: Api) -> None:
    hackathon = await create_hackathon(api)
    cap = await participant(api, hackathon, "Cap")
    kit = await participant(api, hackathon, "Kit")
    team = await team_of(api, hackathon, cap, kit)
    await move_to(api, hackathon, "hacking")
    await submit(api, team["team_id"], kit)
    await move_to(api, hackathon, "judging")

    await erase(api, kit)

    shown = await team_view(api, team["team_id"])
    assert shown["members"] == [
        {"account_id": cap.account_id, "display_name": "Cap"},
        {"account_id": kit.account_id, "display_name": None},
    ]
    assert (shown["captain_id"], shown["status"]) == (cap.account_id, "active")
    events = await events_of(api, {team["team_id"]})
    assert not [e for e in events if isinstance(e, TeamMemberLeft | TeamWithdrawn)]
    await audit_is_clean(api, hackathon)
