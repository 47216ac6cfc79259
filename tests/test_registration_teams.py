"""End-to-end tests of registration's teams, erasure and sign-in rate limit, through the gateway,
on the whole platform as real processes (SQLite and PostgreSQL variants).

The contract is ``shared/API.md`` (Registration and teams) and ``docs/registration.md`` (the
rules and their problem ``type`` names). Every test makes its own hackathon and people, since
the platform is shared by the whole session."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from hackathon_cli.platform import Platform
from hackathon_shared.events.catalogue import (
    AccountErased,
    TeamMemberJoined,
    TeamMemberLeft,
    TeamRegistered,
    TeamWithdrawn,
)
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.topics import REGISTRATION_CONTACTS, REGISTRATION_EVENTS
from tests.journey_helpers import (
    Hackathon,
    Person,
    create_hackathon,
    every_item,
    new_person,
    participant,
    participants,
    register,
    team_view,
)
from tests.platform_fixtures import PASSWORD, Api, events_on, unique_email
from tests.polling import wait_until

Auth = dict[str, str]
Json = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


async def open_hackathon(
    api: Api, *, min_team_size: int = 1, max_team_size: int = 3, max_teams: int = 2
) -> Hackathon:
    """A new hackathon with two challenges, in phase ``registration``."""
    return await create_hackathon(
        api, min_team_size=min_team_size, max_team_size=max_team_size, max_teams=max_teams
    )


def create_team_request(
    api: Api, hackathon: Hackathon, auth: Auth | None, name: str, challenge_id: str | None = None
) -> Any:
    return api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/teams",
        headers=auth or {},
        json={"name": name, "challenge_id": challenge_id or hackathon.challenge_ids[0]},
    )


async def create_team(
    api: Api, hackathon: Hackathon, captain: Person, name: str | None = None
) -> Json:
    answer = await create_team_request(
        api, hackathon, captain.auth, name or f"Team {secrets.token_hex(3)}"
    )
    assert answer.status_code == 201, answer.text
    team: Json = answer.json()
    return team


def join_request(api: Api, team_id: str, auth: Auth | None, invite_code: str) -> Any:
    return api.http.post(
        f"/teams/{team_id}/members", headers=auth or {}, json={"invite_code": invite_code}
    )


async def join(api: Api, team: Json, person: Person) -> Json:
    answer = await join_request(api, team["team_id"], person.auth, team["invite_code"])
    assert answer.status_code == 201, answer.text
    joined: Json = answer.json()
    return joined


async def list_teams(api: Api, hackathon: Hackathon, auth: Auth | None = None) -> list[Json]:
    """Every team of the hackathon, following the cursor."""
    return await every_item(api, f"/hackathons/{hackathon.hackathon_id}/teams", auth)


def member_ids(team: Json) -> list[str]:
    return [m["account_id"] for m in team["members"]]


def assert_problem(answer: httpx.Response, status: int, kind: str) -> Json:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    problem: Json = answer.json()
    assert problem["type"].endswith("/" + kind), problem
    assert problem["status"] == status
    assert problem["title"]
    assert "detail" in problem
    return problem


async def team_events(api: Api, team_id: str, count: int) -> list[Envelope]:
    """The first ``count`` events of one team, in their order."""
    events = await events_on(
        api.platform, REGISTRATION_EVENTS, lambda e: e.aggregate_id == team_id, count
    )
    return events[:count]


async def tombstone_seen(platform: Platform, account_id: str, timeout: float = 20) -> None:
    """Wait for a tombstone (a null value) keyed by ``account_id`` on registration.contacts."""
    consumer = AIOKafkaConsumer(
        platform.config.topic_prefix + REGISTRATION_CONTACTS,
        bootstrap_servers=platform.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    seen = False
    try:

        async def found() -> bool:
            nonlocal seen
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    key = record.key.decode() if record.key is not None else None
                    if key == account_id and record.value is None:
                        seen = True
            return seen

        await wait_until(found, timeout=timeout, message=f"a tombstone for {account_id}")
    finally:
        await consumer.stop()


# --------------------------------------------------------------------------------------------
# Creating teams
# --------------------------------------------------------------------------------------------


async def test_creating_a_team_answers_it_and_announces_it(api: Api) -> None:
    hackathon = await open_hackathon(api)
    captain = await participant(api, hackathon, "Cap")

    answer = await create_team_request(
        api, hackathon, captain.auth, "Water Wizards", hackathon.challenge_ids[1]
    )
    assert answer.status_code == 201, answer.text
    team = answer.json()
    assert team["team_id"]
    assert team["name"] == "Water Wizards"
    assert team["challenge_id"] == hackathon.challenge_ids[1]
    assert team["captain_id"] == captain.account_id
    assert member_ids(team) == [captain.account_id]
    assert isinstance(team["invite_code"], str)
    assert len(team["invite_code"]) >= 22  # 128 random bits, URL-safe

    shown = await team_view(api, team["team_id"], captain.auth)
    assert shown["hackathon_id"] == hackathon.hackathon_id
    assert shown["captain_id"] == captain.account_id
    assert shown["members"] == [{"account_id": captain.account_id, "display_name": "Cap"}]
    assert shown["status"] != "withdrawn"

    [registered] = await team_events(api, team["team_id"], 1)
    assert isinstance(registered, TeamRegistered)
    assert registered.aggregate_id == team["team_id"]
    assert registered.sequence == 1
    assert registered.payload.hackathon_id == hackathon.hackathon_id
    assert registered.payload.name == "Water Wizards"
    assert registered.payload.challenge_id == hackathon.challenge_ids[1]
    assert registered.payload.captain_id == captain.account_id
    assert registered.payload.members == [captain.account_id]


async def test_team_names_are_unique_per_hackathon_after_trimming_and_ignoring_case(
    api: Api,
) -> None:
    hackathon = await open_hackathon(api, max_teams=5)
    first, second = await participants(api, hackathon, 2, "Namer")
    await create_team(api, hackathon, first, " My Team ")

    taken = await create_team_request(api, hackathon, second.auth, "my team")
    assert_problem(taken, 409, "team-name-taken")
    taken_again = await create_team_request(api, hackathon, second.auth, "MY TEAM  ")
    assert_problem(taken_again, 409, "team-name-taken")
    assert len(await list_teams(api, hackathon)) == 1

    # The rejected person is in no team, and the name is only taken in this hackathon.
    other = await open_hackathon(api)
    await register(api, other, second)
    await create_team(api, other, second, "my team")
    await create_team(api, hackathon, second, "my other team")


async def test_creating_a_team_is_refused_when_a_rule_forbids_it(api: Api) -> None:
    hackathon = await open_hackathon(api, max_teams=5)
    elsewhere = await open_hackathon(api)
    captain = await participant(api, hackathon, "Cap")
    team = await create_team(api, hackathon, captain)

    for challenge_id in ("no-such-challenge", elsewhere.challenge_ids[0]):
        unknown = await create_team_request(
            api, hackathon, (await participant(api, hackathon, "Lost")).auth, "X", challenge_id
        )
        assert unknown.status_code == 422, unknown.text
        assert unknown.headers["content-type"].startswith("application/problem+json")
        problem = unknown.json()
        assert "challenge_id" in {e["field"] for e in problem["errors"]}, problem

    _, stranger = await api.new_person("Stranger")
    assert_problem(
        await create_team_request(api, hackathon, stranger, "Strangers"), 403, "not-registered"
    )
    assert_problem(
        await create_team_request(api, hackathon, captain.auth, "Second team"),
        409,
        "already-in-team",
    )
    anonymous = await create_team_request(api, hackathon, None, "Nobody")
    assert anonymous.status_code == 401, anonymous.text

    # Nothing of that changed anything.
    [only] = await list_teams(api, hackathon)
    assert only["team_id"] == team["team_id"]
    assert member_ids(await team_view(api, team["team_id"])) == [captain.account_id]


# --------------------------------------------------------------------------------------------
# Joining and invite codes
# --------------------------------------------------------------------------------------------


async def test_joining_with_the_invite_code_until_the_team_is_full(api: Api) -> None:
    hackathon = await open_hackathon(api, max_team_size=2)
    captain, joiner, late = await participants(api, hackathon, 3, "Joiner")
    team = await create_team(api, hackathon, captain)

    wrong = await join_request(api, team["team_id"], joiner.auth, secrets.token_urlsafe(16))
    assert_problem(wrong, 403, "wrong-invite-code")
    assert member_ids(await team_view(api, team["team_id"])) == [captain.account_id]

    joined = await join(api, team, joiner)
    assert joined["team_id"] == team["team_id"]
    assert joined["invite_code"] == team["invite_code"]
    assert joined["captain_id"] == captain.account_id
    assert set(member_ids(joined)) == {captain.account_id, joiner.account_id}

    full = await join_request(api, team["team_id"], late.auth, team["invite_code"])
    assert_problem(full, 409, "team-full")
    anonymous = await join_request(api, team["team_id"], None, team["invite_code"])
    assert anonymous.status_code == 401, anonymous.text
    shown = await team_view(api, team["team_id"])
    assert set(member_ids(shown)) == {captain.account_id, joiner.account_id}

    registered, member_joined = await team_events(api, team["team_id"], 2)
    assert isinstance(registered, TeamRegistered)
    assert isinstance(member_joined, TeamMemberJoined)
    assert member_joined.sequence == 2
    assert member_joined.prev_hash == registered.hash
    assert member_joined.payload.account_id == joiner.account_id
    assert member_joined.payload.hackathon_id == hackathon.hackathon_id


async def test_invite_code_is_shown_to_members_only(api: Api) -> None:
    hackathon = await open_hackathon(api)
    captain, member, outsider = await participants(api, hackathon, 3, "Viewer")
    team = await create_team(api, hackathon, captain)
    await join(api, team, member)
    other_team = await create_team(api, hackathon, outsider)

    for auth in (captain.auth, member.auth):
        assert (await team_view(api, team["team_id"], auth))["invite_code"] == team["invite_code"]
    for viewer in (outsider.auth, None):
        shown = await team_view(api, team["team_id"], viewer)
        assert "invite_code" not in shown, shown
        assert set(member_ids(shown)) == {captain.account_id, member.account_id}

    for viewer in (captain.auth, outsider.auth, None):
        listed = await list_teams(api, hackathon, viewer)
        assert {t["team_id"] for t in listed} == {team["team_id"], other_team["team_id"]}
        for item in listed:
            assert "invite_code" not in item, item


# --------------------------------------------------------------------------------------------
# Leaving
# --------------------------------------------------------------------------------------------


async def test_captain_leaving_hands_the_role_to_the_earliest_remaining_member(api: Api) -> None:
    hackathon = await open_hackathon(api, max_team_size=4)
    captain, second, third, fourth = await participants(api, hackathon, 4, "Leaver")
    team = await create_team(api, hackathon, captain)
    for person in (second, third, fourth):
        await join(api, team, person)

    left = await api.http.delete(f"/teams/{team['team_id']}/members/me", headers=captain.auth)
    assert left.status_code == 204, left.text
    shown = await team_view(api, team["team_id"])
    assert shown["captain_id"] == second.account_id
    assert set(member_ids(shown)) == {second.account_id, third.account_id, fourth.account_id}
    assert shown["status"] != "withdrawn"

    # A member who is not the captain leaves: the role stays.
    left = await api.http.delete(f"/teams/{team['team_id']}/members/me", headers=fourth.auth)
    assert left.status_code == 204, left.text
    assert (await team_view(api, team["team_id"]))["captain_id"] == second.account_id

    events = await team_events(api, team["team_id"], 6)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5, 6]
    captain_left, fourth_left = events[4], events[5]
    assert isinstance(captain_left, TeamMemberLeft)
    assert captain_left.payload.account_id == captain.account_id
    assert captain_left.payload.new_captain_id == second.account_id
    assert isinstance(fourth_left, TeamMemberLeft)
    assert fourth_left.payload.account_id == fourth.account_id
    assert fourth_left.payload.new_captain_id is None

    # Those who left, and those who never joined, are not members.
    _, stranger = await api.new_person("Stranger")
    for auth in (captain.auth, fourth.auth, stranger):
        again = await api.http.delete(f"/teams/{team['team_id']}/members/me", headers=auth)
        assert_problem(again, 403, "not-a-member")
    anonymous = await api.http.delete(f"/teams/{team['team_id']}/members/me")
    assert anonymous.status_code == 401, anonymous.text
    assert len((await team_view(api, team["team_id"]))["members"]) == 2


async def test_last_member_leaving_withdraws_the_team_and_frees_its_name_and_slot(
    api: Api,
) -> None:
    hackathon = await open_hackathon(api, max_teams=2)
    solo, other, latecomer = await participants(api, hackathon, 3, "Solo")
    first = await create_team(api, hackathon, solo, "Lonely Hearts")
    await create_team(api, hackathon, other)

    full = await create_team_request(api, hackathon, latecomer.auth, "Too Late")
    assert_problem(full, 409, "hackathon-full")

    left = await api.http.delete(f"/teams/{first['team_id']}/members/me", headers=solo.auth)
    assert left.status_code == 204, left.text
    withdrawn = await team_view(api, first["team_id"])
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["members"] == []

    _, member_left, team_withdrawn = await team_events(api, first["team_id"], 3)
    assert isinstance(member_left, TeamMemberLeft)
    assert member_left.sequence == 2
    assert member_left.payload.account_id == solo.account_id
    assert isinstance(team_withdrawn, TeamWithdrawn)
    assert team_withdrawn.sequence == 3
    assert team_withdrawn.payload.hackathon_id == hackathon.hackathon_id

    # The slot and the name are free again; the withdrawn team takes no one.
    joined_withdrawn = await join_request(
        api, first["team_id"], latecomer.auth, first["invite_code"]
    )
    assert_problem(joined_withdrawn, 409, "team-withdrawn")
    reborn = await create_team(api, hackathon, latecomer, "lonely hearts")
    assert reborn["team_id"] != first["team_id"]


# --------------------------------------------------------------------------------------------
# Races
# --------------------------------------------------------------------------------------------

RACERS = 6
ROUNDS = 4
"""Each race is run ROUNDS times (the losers race again), since one round of requests does
not always overlap inside the database."""


async def warm_up(api: Api, team_id: str) -> None:
    """Open as many connections as there are racers all the way to the database (client to
    gateway, gateway to registration, registration's pool), so that the racing requests
    arrive together rather than each behind its own connection set-up."""
    answers = await asyncio.gather(*(api.http.get(f"/teams/{team_id}") for _ in range(RACERS)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]


async def test_concurrent_joins_for_the_last_seat_admit_exactly_one(api: Api) -> None:
    hackathon = await open_hackathon(api, max_team_size=2, max_teams=ROUNDS + 1)
    captains = await participants(api, hackathon, ROUNDS, "Captain")
    teams = [await create_team(api, hackathon, captain) for captain in captains]
    racers = await participants(api, hackathon, RACERS, "Racer")

    for captain, team in zip(captains, teams, strict=True):
        await warm_up(api, team["team_id"])
        answers = await asyncio.gather(
            *(join_request(api, team["team_id"], r.auth, team["invite_code"]) for r in racers)
        )

        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] + [409] * (len(racers) - 1), [a.text for a in answers]
        for answer in answers:
            if answer.status_code == 409:
                assert_problem(answer, 409, "team-full")
        [winner] = [r for r, a in zip(racers, answers, strict=True) if a.status_code == 201]
        shown = await team_view(api, team["team_id"])
        assert len(shown["members"]) == 2  # max_team_size
        assert set(member_ids(shown)) == {captain.account_id, winner.account_id}
        racers = [r for r in racers if r is not winner]

    # The losers were left in no team: they can still form their own.
    await create_team(api, hackathon, racers[0])


async def test_concurrent_team_creations_for_the_last_slot_admit_exactly_one(api: Api) -> None:
    racers = [await new_person(api, f"Founder{i}") for i in range(RACERS)]

    for _ in range(ROUNDS):
        hackathon = await open_hackathon(api, max_teams=2)
        first_team = await create_team(api, hackathon, await participant(api, hackathon, "F"))
        for racer in racers:
            await register(api, hackathon, racer)
        await warm_up(api, first_team["team_id"])
        answers = await asyncio.gather(
            *(
                create_team_request(api, hackathon, r.auth, f"Racing team {i}")
                for i, r in enumerate(racers)
            )
        )

        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] + [409] * (RACERS - 1), [a.text for a in answers]
        for answer in answers:
            if answer.status_code == 409:
                assert_problem(answer, 409, "hackathon-full")
        assert len(await list_teams(api, hackathon)) == 2

        # A loser was left in no team: they can join the winner's.
        [created] = [a.json() for a in answers if a.status_code == 201]
        loser = next(r for r, a in zip(racers, answers, strict=True) if a.status_code == 409)
        await join(api, created, loser)


async def test_one_person_joining_two_teams_at_once_ends_up_in_one(api: Api) -> None:
    hackathon = await open_hackathon(api, max_teams=3)
    one, two, person = await participants(api, hackathon, 3, "Twice")
    team_one = await create_team(api, hackathon, one)
    team_two = await create_team(api, hackathon, two)

    answers = await asyncio.gather(
        join_request(api, team_one["team_id"], person.auth, team_one["invite_code"]),
        join_request(api, team_two["team_id"], person.auth, team_two["invite_code"]),
    )

    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    [refused] = [a for a in answers if a.status_code == 409]
    assert_problem(refused, 409, "already-in-team")
    memberships = [
        person.account_id in member_ids(await team_view(api, t["team_id"]))
        for t in (team_one, team_two)
    ]
    assert sorted(memberships) == [False, True]


# --------------------------------------------------------------------------------------------
# Erasure
# --------------------------------------------------------------------------------------------


async def test_erasing_an_account_keeps_its_id_and_drops_its_personal_data(api: Api) -> None:
    hackathon = await open_hackathon(api)
    captain = await participant(api, hackathon, "Cap")
    email = unique_email("Erin")
    signed_up = await api.http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": "Erin"}
    )
    assert signed_up.status_code == 201, signed_up.text
    erin_id: str = signed_up.json()["account_id"]
    erin = Person(erin_id, await api.sign_in(email), email, "Erin")
    await register(api, hackathon, erin)
    team = await create_team(api, hackathon, captain)
    await join(api, team, erin)

    erased = await api.http.delete("/me", headers=erin.auth)
    assert erased.status_code == 204, erased.text

    old_credentials = await api.http.post(
        "/auth/token", json={"email": email, "password": PASSWORD}
    )
    assert old_credentials.status_code == 401, old_credentials.text
    old_token = await api.http.get("/me", headers=erin.auth)
    assert old_token.status_code == 401, old_token.text

    # Erin left the team with the erasure (tests/test_erasure_frees_seats.py has the rest).
    shown = await team_view(api, team["team_id"])
    assert shown["members"] == [{"account_id": captain.account_id, "display_name": "Cap"}]

    [announced] = await events_on(
        api.platform,
        REGISTRATION_EVENTS,
        lambda e: e.type == "AccountErased" and e.aggregate_id == erin_id,
    )
    assert isinstance(announced, AccountErased)
    assert announced.payload.account_id == erin_id
    await tombstone_seen(api.platform, erin_id)

    # The e-mail address is free again, for a new account.
    again = await api.http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": "Erin again"}
    )
    assert again.status_code == 201, again.text
    assert again.json()["account_id"] != erin_id


# --------------------------------------------------------------------------------------------
# Sign-in rate limit
# --------------------------------------------------------------------------------------------


async def test_failed_sign_ins_are_rate_limited_per_email(api: Api) -> None:
    email = unique_email("Guess")
    created = await api.http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": "Guess"}
    )
    assert created.status_code == 201, created.text
    neighbour_email = unique_email("Neighbour")
    created = await api.http.post(
        "/accounts", json={"email": neighbour_email, "password": PASSWORD, "display_name": "N"}
    )
    assert created.status_code == 201, created.text

    for attempt in range(5):
        wrong = await api.http.post(
            "/auth/token", json={"email": email, "password": f"wrong password {attempt}"}
        )
        assert wrong.status_code == 401, (attempt, wrong.text)

    limited = await api.http.post("/auth/token", json={"email": email, "password": PASSWORD})
    assert_problem(limited, 429, "too-many-sign-in-attempts")
    retry_after = int(limited.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60

    # Another address is not affected.
    await api.sign_in(neighbour_email)


async def test_teams_change_in_registration_and_hacking_only(api: Api) -> None:
    hackathon = await open_hackathon(api, max_team_size=3, max_teams=3)
    captain, joiner, late = await participants(api, hackathon, 3, "Phase")
    team = await create_team(api, hackathon, captain)
    await join(api, team, joiner)
    organizer = await api.organizer()
    for phase in ("hacking", "judging"):
        moved = await api.http.post(
            f"/hackathons/{hackathon.hackathon_id}/phase", headers=organizer, json={"phase": phase}
        )
        assert moved.status_code == 200, moved.text
    # In judging nobody forms, joins or leaves a team, and the team stays as it was.
    assert_problem(
        await create_team_request(api, hackathon, late.auth, "Too late"), 409, "wrong-phase"
    )
    assert_problem(
        await join_request(api, team["team_id"], late.auth, team["invite_code"]), 409, "wrong-phase"
    )
    left = await api.http.delete(f"/teams/{team['team_id']}/members/me", headers=joiner.auth)
    assert_problem(left, 409, "wrong-phase")
    assert member_ids(await team_view(api, team["team_id"])) == [
        captain.account_id,
        joiner.account_id,
    ]


async def test_an_unknown_team_is_not_found(api: Api) -> None:
    hackathon = await open_hackathon(api)
    someone = await participant(api, hackathon, "Lost")
    assert_problem(await api.http.get("/teams/team_does_not_exist"), 404, "team-not-found")
    assert_problem(
        await join_request(api, "team_does_not_exist", someone.auth, "whatever"),
        404,
        "team-not-found",
    )


async def test_an_erased_account_token_is_refused_at_once(api: Api) -> None:
    hackathon = await open_hackathon(api)
    other = await open_hackathon(api)
    person = await participant(api, hackathon, "Gone")
    team = await create_team(api, hackathon, person)
    erased = await api.http.delete("/me", headers=person.auth)
    assert erased.status_code == 204
    # The token has not expired, yet nothing can be done with it any more.
    register_again = await api.http.post(
        f"/hackathons/{other.hackathon_id}/registrations",
        headers=person.auth,
        json={"sector": "academia", "consent": True},
    )
    assert_problem(register_again, 401, "unauthenticated")
    assert_problem(
        await create_team_request(api, other, person.auth, "Ghost team"), 401, "unauthenticated"
    )
    assert_problem(
        await api.http.get(f"/teams/{team['team_id']}", headers=person.auth), 401, "unauthenticated"
    )
    assert_problem(
        await api.http.delete(f"/teams/{team['team_id']}/members/me", headers=person.auth),
        401,
        "unauthenticated",
    )
