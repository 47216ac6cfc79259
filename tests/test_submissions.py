"""End-to-end tests of the submissions service, through the gateway, on the whole platform as
real processes and a real broker (SQLite and PostgreSQL variants).

The contract is ``shared/API.md`` (Conventions, Submissions) and issue 4. The submissions
service keeps copies of hackathons, phases, teams and members (from registration's events)
and of judges' assignments (from scoring's), yet it answers as one program would: every
answer includes every write acknowledged before the request. So each step is one plain call
right after its cause (a move to hacking, a join, a leave, an assignment) and asserts the
exact answer; only events read from a topic by the test itself are waited for. Every test
makes its own hackathon and people, since the platform is shared by the whole session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel, col, select

from hackathon_cli.platform import Platform
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import SeenFact, SubmissionReceived, SubmissionWithdrawn
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.topics import REGISTRATION_EVENTS, SCORING_EVENTS, SUBMISSIONS_EVENTS
from submissions.adapters.tables import (
    KnownAssignment,
    KnownHackathon,
    KnownMember,
    KnownTeam,
    SubmissionRow,
)
from submissions.app import MIGRATIONS
from submissions.service.view import rebuild
from tests.journey_helpers import (
    ARRIVAL_TIMEOUT,
    Auth,
    Hackathon,
    Json,
    Person,
    assert_problem,
    assign_judge,
    create_hackathon,
    create_team,
    enrol_judge,
    error_fields,
    get_submission,
    join,
    last_sequence,
    leave,
    list_submissions,
    move_to,
    names,
    new_person,
    parse_time,
    participant,
    participants,
    publish,
    put_submission,
    read_topics,
    submission_body,
    submit,
    team_of,
)
from tests.platform_fixtures import Api, events_on, live_database_url

CONTENT_FIELDS = ("title", "summary", "kind", "repo_url", "demo_url")


def assert_content(view: Json, body: Json) -> None:
    for field in CONTENT_FIELDS:
        assert view[field] == body.get(field), (field, view)


async def submission_events(api: Api, submission_id: str, count: int) -> list[Envelope]:
    """The first ``count`` events of one submission, in their order."""
    events = await events_on(
        api.platform,
        SUBMISSIONS_EVENTS,
        lambda e: e.aggregate_id == submission_id,
        count,
        timeout=ARRIVAL_TIMEOUT,
    )
    return events[:count]


async def hacking_team(
    api: Api, size: int = 1, **settings: Any
) -> tuple[Hackathon, Json, list[Person]]:
    """A hackathon in phase hacking with one team of ``size`` registered people (the
    captain first)."""
    hackathon = await create_hackathon(api, **settings)
    people = await participants(api, hackathon, size, "Member")
    team = await team_of(api, hackathon, people[0], *people[1:])
    await move_to(api, hackathon, "hacking")
    return hackathon, team, people


# --------------------------------------------------------------------------------------------
# Submitting and updating
# --------------------------------------------------------------------------------------------


async def test_first_submission_is_created_and_each_update_is_a_new_announced_version(
    api: Api,
) -> None:
    hackathon, team, (captain, member) = await hacking_team(api, size=2)
    tid = team["team_id"]
    first_body = submission_body(kind="social")
    # How far registration's log goes for the hackathon (created, opened, two registrations,
    # the move to hacking) when the versions are submitted.
    hackathon_sequence = await last_sequence(
        api.platform, REGISTRATION_EVENTS, hackathon.hackathon_id
    )
    assert hackathon_sequence == 5

    before = datetime.now(UTC)
    # Right after the move to hacking (and the member's join): accepted at once.
    created = await put_submission(api, tid, captain.auth, first_body)
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["submission_id"]
    assert first["team_id"] == tid
    assert first["challenge_id"] == team["challenge_id"]
    assert first["version"] == 1
    assert_content(first, first_body)
    first_at = parse_time(first["submitted_at"])
    assert before - timedelta(seconds=5) <= first_at <= datetime.now(UTC) + timedelta(seconds=5)

    second_body = submission_body(
        title="Water sensor mesh, v2", summary="Now with solar power.", kind="technology"
    )
    del second_body["demo_url"]
    updated = await put_submission(api, tid, member.auth, second_body)
    assert updated.status_code == 200, updated.text
    second = updated.json()
    assert second["submission_id"] == first["submission_id"]
    assert second["team_id"] == tid
    assert second["challenge_id"] == team["challenge_id"]
    assert second["version"] == 2
    assert_content(second, second_body)
    assert second["demo_url"] is None
    assert parse_time(second["submitted_at"]) >= first_at

    for reader in (captain, member):
        shown = await get_submission(api, tid, reader.auth)
        assert shown.status_code == 200, shown.text
        assert shown.json() == second

    received, received_again = await submission_events(api, first["submission_id"], 2)
    for event, view, author in ((received, first, captain), (received_again, second, member)):
        assert isinstance(event, SubmissionReceived)
        assert event.aggregate_id == first["submission_id"]
        payload = event.payload
        assert payload.submission_id == first["submission_id"]
        assert payload.hackathon_id == hackathon.hackathon_id
        assert payload.team_id == tid
        assert payload.challenge_id == team["challenge_id"]
        assert payload.version == view["version"]
        assert payload.title == view["title"]
        assert payload.summary == view["summary"]
        assert payload.kind == view["kind"]
        assert payload.repo_url == view["repo_url"]
        assert payload.demo_url == view["demo_url"]
        assert payload.submitted_by == author.account_id
        assert payload.first_submitted_at == first_at
        # What the decision was taken on: the hackathon as of its last event, the team as of
        # TeamRegistered (team event 1) and the member's join (2).
        assert len(payload.seen) == 2, payload.seen
        assert set(payload.seen) == {
            SeenFact(
                producer="registration",
                aggregate_id=hackathon.hackathon_id,
                sequence=hackathon_sequence,
            ),
            SeenFact(producer="registration", aggregate_id=tid, sequence=2),
        }
        # The fields of old events, superseded by ``seen``, are left empty.
        assert payload.members == []
        assert payload.team_sequence is None
        assert event.occurred_at == parse_time(view["submitted_at"])
    assert received.sequence == 1
    assert received.prev_hash == GENESIS_HASH
    assert received_again.sequence == 2
    assert received_again.prev_hash == received.hash


async def test_submissions_are_accepted_in_phase_hacking_only(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    captain = await participant(api, hackathon, "Early")
    tid = (await create_team(api, hackathon, captain))["team_id"]

    # Right after the team was registered: known, and refused for the phase.
    too_early = await put_submission(api, tid, captain.auth, submission_body())
    assert_problem(too_early, 409, "wrong-phase")
    assert_problem(await get_submission(api, tid, captain.auth), 404, "submission-not-found")

    await move_to(api, hackathon, "hacking")
    accepted = await submit(api, tid, captain)  # right after the move: accepted
    assert accepted["version"] == 1

    await move_to(api, hackathon, "judging")
    # Right after the move: refused, every time, and the accepted version stays the last.
    for _ in range(2):
        too_late = await put_submission(api, tid, captain.auth, submission_body())
        assert_problem(too_late, 409, "wrong-phase")
    shown = await get_submission(api, tid, captain.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json() == accepted


async def test_submissions_after_the_deadline_are_refused(api: Api) -> None:
    # Registration accepts a deadline in the past; submissions compare it with their clock.
    _, team, (captain,) = await hacking_team(api, deadline=datetime.now(UTC) - timedelta(hours=1))
    tid = team["team_id"]

    late = await put_submission(api, tid, captain.auth, submission_body())
    assert_problem(late, 409, "deadline-passed")
    assert_problem(await get_submission(api, tid, captain.auth), 404, "submission-not-found")
    organizer_view = await get_submission(api, tid, await api.organizer())
    assert_problem(organizer_view, 404, "submission-not-found")


async def test_a_team_below_the_minimum_size_may_submit_once_someone_joins(api: Api) -> None:
    hackathon = await create_hackathon(api, min_team_size=2)
    captain, joiner = await participants(api, hackathon, 2, "Small")
    team = await create_team(api, hackathon, captain)
    tid = team["team_id"]
    await move_to(api, hackathon, "hacking")

    small = await put_submission(api, tid, captain.auth, submission_body())
    assert_problem(small, 409, "team-too-small")
    assert_problem(await get_submission(api, tid, captain.auth), 404, "submission-not-found")

    await join(api, team, joiner)
    # Right after the join: the joiner is a member, and the team is large enough.
    joined = await put_submission(api, tid, joiner.auth, submission_body())
    assert joined.status_code == 201, joined.text
    accepted = joined.json()
    assert accepted["version"] == 1
    shown = await get_submission(api, tid, captain.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json() == accepted


async def test_only_the_teams_members_submit_and_everyone_must_sign_in(api: Api) -> None:
    hackathon, team, (captain,) = await hacking_team(api)
    tid = team["team_id"]
    body = submission_body()
    accepted = await submit(api, tid, captain, body)

    rival = await participant(api, hackathon, "Rival")
    await create_team(api, hackathon, rival)
    stranger = await new_person(api, "Stranger")
    organizer = await api.organizer()
    for auth in (rival.auth, stranger.auth, organizer):
        answer = await put_submission(api, tid, auth, submission_body(title="Hijacked"))
        assert_problem(answer, 403, "not-a-member")

    anonymous: list[Auth | None] = [None, {"Authorization": "Bearer not-a-token"}]
    for credentials in anonymous:
        assert (await put_submission(api, tid, credentials, submission_body())).status_code == 401
        assert (await get_submission(api, tid, credentials)).status_code == 401

    shown = await get_submission(api, tid, captain.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json() == accepted


INVALID_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("title too short", {"title": "ab"}, "title"),
    ("title too long", {"title": "t" * 121}, "title"),
    ("title missing", {"title": ...}, "title"),
    ("summary empty", {"summary": ""}, "summary"),
    ("summary too long", {"summary": "s" * 5001}, "summary"),
    ("kind not allowed", {"kind": "hardware"}, "kind"),
    ("kind missing", {"kind": ...}, "kind"),
    ("repo_url ftp", {"repo_url": "ftp://files.example.org/mesh.tar.gz"}, "repo_url"),
    ("repo_url javascript", {"repo_url": "javascript:alert(1)"}, "repo_url"),
    ("demo_url javascript", {"demo_url": "javascript://example.org/%0Aalert(1)"}, "demo_url"),
    ("demo_url over 2048", {"demo_url": "https://example.org/" + "d" * 2029}, "demo_url"),
]


async def test_invalid_fields_are_422_naming_each_one_and_store_nothing(api: Api) -> None:
    _, team, (captain,) = await hacking_team(api)
    tid = team["team_id"]

    everything_wrong = {
        "title": "ab",
        "summary": "",
        "kind": "hardware",
        "repo_url": "ftp://files.example.org/x",
        "demo_url": "javascript:alert(1)",
    }
    answer = await put_submission(api, tid, captain.auth, everything_wrong)
    fields = error_fields(answer)
    for key in CONTENT_FIELDS:
        assert any(names(field, key) for field in fields), (key, fields)
    # Nothing was stored.
    assert_problem(await get_submission(api, tid, captain.auth), 404, "submission-not-found")

    accepted = await submit(api, tid, captain)
    mistakes: list[str] = []
    for label, changes, key in INVALID_FIELDS:
        answer = await put_submission(api, tid, captain.auth, submission_body(**changes))
        if answer.status_code != 422:
            mistakes.append(f"{label}: {answer.status_code} {answer.text[:200]}")
            continue
        fields = error_fields(answer)
        if not any(names(field, key) for field in fields):
            mistakes.append(f"{label}: {key} not named in {fields}")
        elif not all(names(field, key) for field in fields):
            mistakes.append(f"{label}: valid fields named as well: {fields}")
    shown = await get_submission(api, tid, captain.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json() == accepted, "a rejected request changed the submission"
    assert not mistakes, "\n".join(mistakes)

    # The limits themselves are allowed.
    longest_link = "HTTP://example.org/" + "l" * (2048 - len("HTTP://example.org/"))
    edges = submission_body(
        title="t" * 120, summary="s" * 5000, kind="business", repo_url=longest_link
    )
    updated = await put_submission(api, tid, captain.auth, edges)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert_content(updated.json(), edges)
    shortest = submission_body(title="abc", summary="s", repo_url=None, demo_url=None)
    updated = await put_submission(api, tid, captain.auth, shortest)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 3
    assert_content(updated.json(), shortest)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


async def test_a_submission_is_visible_to_its_team_and_organizers_only(api: Api) -> None:
    hackathon, team, (captain, member) = await hacking_team(api, size=2)
    tid = team["team_id"]
    accepted = await submit(api, tid, member)

    silent = await participant(api, hackathon, "Silent")
    silent_tid = (await create_team(api, hackathon, silent))["team_id"]
    stranger = await new_person(api, "Stranger")

    for auth in (captain.auth, member.auth, await api.organizer()):
        shown = await get_submission(api, tid, auth)
        assert shown.status_code == 200, shown.text
        assert shown.json() == accepted
    for auth in (silent.auth, stranger.auth):
        assert_problem(await get_submission(api, tid, auth), 403, "forbidden")

    # A team without a submission: 404 for its members and organizers, still 403 for others.
    assert_problem(await get_submission(api, silent_tid, silent.auth), 404, "submission-not-found")
    assert_problem(
        await get_submission(api, silent_tid, await api.organizer()), 404, "submission-not-found"
    )
    for auth in (captain.auth, stranger.auth):
        assert_problem(await get_submission(api, silent_tid, auth), 403, "forbidden")


async def test_a_judge_sees_the_submissions_assigned_to_them_only(api: Api) -> None:
    hackathon = await create_hackathon(api)
    first_captain, second_captain = await participants(api, hackathon, 2, "Judged")
    first_tid = (await create_team(api, hackathon, first_captain))["team_id"]
    second_tid = (await create_team(api, hackathon, second_captain))["team_id"]
    assigned, unassigned = await new_person(api, "Judge"), await new_person(api, "OtherJudge")
    for judge in (assigned, unassigned):
        await enrol_judge(api, hackathon, judge)
    await move_to(api, hackathon, "hacking")
    first = await submit(api, first_tid, first_captain)
    second = await submit(api, second_tid, second_captain)

    for judge in (assigned, unassigned):
        for tid in (first_tid, second_tid):
            assert_problem(await get_submission(api, tid, judge.auth), 403, "forbidden")

    event = await assign_judge(api.platform, hackathon.hackathon_id, first, assigned.account_id)
    # Right after the assignment is in scoring's log, the judge reads the submission.
    shown = await get_submission(api, first_tid, assigned.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json() == first
    # A redelivery changes nothing.
    await publish(api.platform, SCORING_EVENTS, event)

    # A newer version is what the judge sees.
    update = submission_body(title="Water sensor mesh, final")
    updated = await put_submission(api, first_tid, first_captain.auth, update)
    assert updated.status_code == 200, updated.text
    shown = await get_submission(api, first_tid, assigned.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json() == updated.json()

    assert_problem(await get_submission(api, second_tid, assigned.auth), 403, "forbidden")
    for tid in (first_tid, second_tid):
        assert_problem(await get_submission(api, tid, unassigned.auth), 403, "forbidden")
    assert second["submission_id"] != first["submission_id"]


async def test_organizers_page_through_a_hackathons_submissions(api: Api) -> None:
    hackathon = await create_hackathon(api)
    captains = await participants(api, hackathon, 3, "Listed")
    tids = [(await create_team(api, hackathon, c))["team_id"] for c in captains]
    elsewhere, elsewhere_team, (elsewhere_captain,) = await hacking_team(api)
    await move_to(api, hackathon, "hacking")
    latest = {tid: await submit(api, tid, c) for tid, c in zip(tids, captains, strict=True)}
    latest[tids[0]] = await submit(api, tids[0], captains[0], submission_body(title="Again"))
    await submit(api, elsewhere_team["team_id"], elsewhere_captain)
    organizer = await api.organizer()

    one_by_one = await list_submissions(api, hackathon, organizer, limit=1)
    assert len(one_by_one) == 3, one_by_one
    assert {item["team_id"]: item for item in one_by_one} == latest
    assert all(item["hackathon_id"] == hackathon.hackathon_id for item in one_by_one)
    whole = await list_submissions(api, hackathon, organizer)
    assert whole == one_by_one

    path = f"/hackathons/{hackathon.hackathon_id}/submissions"
    for limit in (0, 201):
        too_many = await api.http.get(path, headers=organizer, params={"limit": limit})
        assert too_many.status_code == 422, too_many.text
    assert_problem(await api.http.get(path, headers=captains[0].auth), 403)
    assert (await api.http.get(path)).status_code == 401
    assert elsewhere.hackathon_id != hackathon.hackathon_id


# --------------------------------------------------------------------------------------------
# Withdrawal and leaving
# --------------------------------------------------------------------------------------------


async def test_the_last_member_leaving_withdraws_the_submission(api: Api) -> None:
    hackathon, team, (solo,) = await hacking_team(api)
    tid = team["team_id"]
    accepted = await submit(api, tid, solo)

    await leave(api, tid, solo)

    # Right after the leave: the submission is withdrawn.
    organizer = await api.organizer()
    shown = await get_submission(api, tid, organizer)
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "withdrawn"
    assert shown.json()["version"] == accepted["version"]
    assert_content(shown.json(), accepted)
    [listed] = await list_submissions(api, hackathon, organizer)
    assert listed["status"] == "withdrawn"
    assert_problem(await get_submission(api, tid, solo.auth), 403, "forbidden")
    assert_problem(await put_submission(api, tid, solo.auth, submission_body()), 403)

    received, withdrawn = await submission_events(api, accepted["submission_id"], 2)
    assert isinstance(received, SubmissionReceived)
    assert isinstance(withdrawn, SubmissionWithdrawn)
    assert withdrawn.sequence == 2
    assert withdrawn.prev_hash == received.hash
    assert withdrawn.payload.submission_id == accepted["submission_id"]
    assert withdrawn.payload.team_id == tid
    assert withdrawn.payload.hackathon_id == hackathon.hackathon_id
    # Decided on the team's withdrawal: TeamRegistered (1), TeamMemberLeft (2), TeamWithdrawn
    # (3), the last event of the team.
    team_sequence = await last_sequence(api.platform, REGISTRATION_EVENTS, tid)
    assert team_sequence == 3
    assert withdrawn.payload.seen == [
        SeenFact(producer="registration", aggregate_id=tid, sequence=team_sequence)
    ]


async def test_a_member_who_left_loses_access_while_the_team_goes_on(api: Api) -> None:
    _, team, (captain, leaver) = await hacking_team(api, size=2)
    tid = team["team_id"]
    accepted = await submit(api, tid, leaver)

    await leave(api, tid, leaver)

    # Right after the leave: refused, as a reader and as an author.
    assert_problem(await get_submission(api, tid, leaver.auth), 403, "forbidden")
    refused = await put_submission(api, tid, leaver.auth, submission_body(title="Parting shot"))
    assert_problem(refused, 403, "not-a-member")

    shown = await get_submission(api, tid, captain.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json() == accepted
    assert shown.json()["status"] == "active"
    updated = await put_submission(api, tid, captain.auth, submission_body(title="Carry on"))
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert updated.json()["status"] == "active"


# --------------------------------------------------------------------------------------------
# Rebuilding the view from the log
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
    return value


def _rows(found: Any) -> list[dict[str, Any]]:
    rows = [{k: _plain(v) for k, v in row.model_dump().items()} for row in found]
    return sorted(rows, key=lambda row: sorted((k, str(v)) for k, v in row.items()))


async def view_of_hackathon(db: Database, hackathon_id: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of the submissions service's tables that belong to one hackathon."""
    tables: dict[str, list[dict[str, Any]]] = {}

    async def rows_of(table: type[SQLModel], where: Any) -> list[dict[str, Any]]:
        async with db.sessions() as session:
            return _rows((await session.exec(select(table).where(where))).all())

    tables["known_hackathons"] = await rows_of(
        KnownHackathon, col(KnownHackathon.hackathon_id) == hackathon_id
    )
    tables["known_teams"] = await rows_of(KnownTeam, col(KnownTeam.hackathon_id) == hackathon_id)
    team_ids = [row["team_id"] for row in tables["known_teams"]]
    tables["known_members"] = await rows_of(KnownMember, col(KnownMember.team_id).in_(team_ids))
    tables["submissions"] = await rows_of(
        SubmissionRow, col(SubmissionRow.hackathon_id) == hackathon_id
    )
    submission_ids = [row["submission_id"] for row in tables["submissions"]]
    tables["known_assignments"] = await rows_of(
        KnownAssignment, col(KnownAssignment.submission_id).in_(submission_ids)
    )
    return tables


async def rebuilt_view(platform: Platform, path: Path, hackathon_id: str) -> Any:
    events = await read_topics(platform, (REGISTRATION_EVENTS, SCORING_EVENTS, SUBMISSIONS_EVENTS))
    url = f"sqlite:///{path}"  # tmp_path is absolute
    await upgrade_to_head(url, MIGRATIONS)
    db = Database(url)
    try:
        assert await rebuild(db, events) == len(events)
        return await view_of_hackathon(db, hackathon_id)
    finally:
        await db.dispose()


async def test_the_view_rebuilt_from_the_log_equals_the_live_one(api: Api, tmp_path: Path) -> None:
    hackathon = await create_hackathon(api)
    captain, leaver, stayer, solo, idle = await participants(api, hackathon, 5, "Replayed")
    kept = await team_of(api, hackathon, captain, leaver, stayer)
    gone = await team_of(api, hackathon, solo)
    quiet = await team_of(api, hackathon, idle)
    judge = await new_person(api, "Judge")
    await enrol_judge(api, hackathon, judge)
    await move_to(api, hackathon, "hacking")

    await submit(api, kept["team_id"], captain)
    kept_latest = await submit(api, kept["team_id"], leaver, submission_body(demo_url=None))
    gone_submission = await submit(api, gone["team_id"], solo)
    await leave(api, kept["team_id"], leaver)
    await leave(api, gone["team_id"], solo)
    await assign_judge(api.platform, hackathon.hackathon_id, kept_latest, judge.account_id)
    await move_to(api, hackathon, "judging")

    # Right after the last changes, a request to the service sees them all: the judge reads
    # the assigned submission, the leaver is refused. The withdrawal of the gone team's
    # submission, decided by the service on hearing of the team's withdrawal, is awaited on
    # the topic, which the test reads itself.
    shown = await get_submission(api, kept["team_id"], judge.auth)
    assert shown.status_code == 200, shown.text
    assert_problem(await get_submission(api, kept["team_id"], leaver.auth), 403, "forbidden")
    await submission_events(api, gone_submission["submission_id"], 2)

    # So the live view has applied everything the log holds now: a view rebuilt from the
    # log equals it at once.
    live = Database(live_database_url(api.platform, "submissions"))
    try:
        current = await view_of_hackathon(live, hackathon.hackathon_id)
    finally:
        await live.dispose()
    rebuilt = await rebuilt_view(api.platform, tmp_path / "rebuilt.db", hackathon.hackathon_id)
    assert current == rebuilt

    assert [h["phase"] for h in current["known_hackathons"]] == ["judging"]
    statuses = {t["team_id"]: t["status"] for t in current["known_teams"]}
    assert statuses == {
        kept["team_id"]: "active",
        gone["team_id"]: "withdrawn",
        quiet["team_id"]: "active",
    }
    assert {(m["team_id"], m["account_id"]) for m in current["known_members"]} == {
        (kept["team_id"], captain.account_id),
        (kept["team_id"], stayer.account_id),
        (quiet["team_id"], idle.account_id),
    }
    by_team = {s["team_id"]: s for s in current["submissions"]}
    assert by_team.keys() == {kept["team_id"], gone["team_id"]}
    assert by_team[kept["team_id"]]["version"] == 2
    assert by_team[kept["team_id"]]["status"] == "active"
    assert by_team[gone["team_id"]]["status"] == "withdrawn"
    assert current["known_assignments"] == [
        {"submission_id": kept_latest["submission_id"], "judge_id": judge.account_id}
    ]
