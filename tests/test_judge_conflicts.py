"""Conflicts that follow from the facts, end to end through the gateway.

A judge who is a member of a team, or was one in that hackathon, never judges it, though
nobody declared the conflict; an organizer replaces a judge's declared conflicts before
judging begins, and not after; the audit finds the judged hackathon clean."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from audit.report import render
from audit.verify import verify
from hackathon_shared.db import Database
from tests.journey_helpers import (
    assert_problem,
    create_hackathon,
    enrol_judge,
    error_fields,
    join,
    leave,
    move_to,
    participant,
    platform_log,
    submit,
    team_of,
)
from tests.platform_fixtures import Api, live_database_url
from tests.polling import wait_until

Json = dict[str, Any]


async def test_members_and_former_members_never_judge_their_team(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    hid = hackathon.hackathon_id
    organizer = await api.organizer()
    cap = await participant(api, hackathon, "Captain")
    former = await participant(api, hackathon, "Former")
    bea = await participant(api, hackathon, "Bea")
    mentor = await participant(api, hackathon, "Mentor")
    team_a = await team_of(api, hackathon, cap)
    await join(api, team_a, former)
    await leave(api, team_a["team_id"], former)
    team_b = await team_of(api, hackathon, bea)
    # The captain of A and its former member are enrolled with no declared conflict.
    for judge in (cap, former, mentor):
        await enrol_judge(api, hackathon, judge)

    # The organizer declares the mentor's conflict with B after the enrolment.
    conflicts = f"/hackathons/{hid}/judges/{mentor.account_id}/conflicts"
    changed = await api.http.put(
        conflicts, headers=organizer, json={"conflicts": [team_b["team_id"]]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "hackathon_id": hid,
        "judge_id": mentor.account_id,
        "conflicts": [team_b["team_id"]],
    }
    # Refused, each changing nothing: an unknown team, someone who is not a judge, a
    # participant instead of an organizer, an unknown field.
    assert error_fields(
        await api.http.put(conflicts, headers=organizer, json={"conflicts": ["tm_nope"]})
    ) == ["conflicts"]
    assert_problem(
        await api.http.put(
            f"/hackathons/{hid}/judges/{bea.account_id}/conflicts",
            headers=organizer,
            json={"conflicts": []},
        ),
        404,
        "judge-not-found",
    )
    assert_problem(await api.http.put(conflicts, headers=bea.auth, json={"conflicts": []}), 403)
    assert error_fields(
        await api.http.put(conflicts, headers=organizer, json={"conflicts": [], "why": "x"})
    ) == ["why"]

    await move_to(api, hackathon, "hacking")
    submission_a = await submit(api, team_a["team_id"], cap)
    submission_b = await submit(api, team_b["team_id"], bea)
    await move_to(api, hackathon, "judging")
    # In judging the declared conflicts are what assignments may have been decided on.
    assert_problem(
        await api.http.put(conflicts, headers=organizer, json={"conflicts": []}),
        409,
        "wrong-phase",
    )

    assigned = await api.http.post(f"/hackathons/{hid}/assignments", headers=organizer)
    assert assigned.status_code == 200, assigned.text
    judges_of = {a["submission_id"]: a["judge_ids"] for a in assigned.json()["assignments"]}
    # A's captain and its former member conflict with A; the mentor declared B.
    assert judges_of[submission_a["submission_id"]] == [mentor.account_id]
    [judge_of_b] = judges_of[submission_b["submission_id"]]
    assert judge_of_b in {cap.account_id, former.account_id}
    assert assigned.json()["shortfalls"] == []

    marks = {"scores": {"impact": 8, "feasibility": 6}}
    own = await api.http.put(
        f"/submissions/{submission_a['submission_id']}/scores/me", headers=cap.auth, json=marks
    )
    assert_problem(own, 403, "not-assigned")
    judge_b = cap if judge_of_b == cap.account_id else former
    for person, submission in ((mentor, submission_a), (judge_b, submission_b)):
        scored = await api.http.put(
            f"/submissions/{submission['submission_id']}/scores/me", headers=person.auth, json=marks
        )
        assert scored.status_code == 200, scored.text

    # The audit reads the conflicts from the log, the declared change included, and finds
    # every assignment and score clean.
    reports: list[str] = []

    async def audited_clean() -> bool:
        report = verify(await platform_log(api.platform), hackathons=[hid])
        reports[:] = [render(report)]
        return report.clean

    await wait_until(
        audited_clean,
        timeout=30,
        interval=0.5,
        message=lambda: f"the audit of {hid} was not clean: {reports}",
    )

    # A database from before this rule may hold an assignment of a judge to their own team;
    # a score from them is refused all the same, and changes nothing.
    scoring = Database(live_database_url(api.platform, "scoring"))
    try:
        async with scoring.transaction() as session:
            await session.execute(
                sa.text(
                    "INSERT INTO assignments (submission_id, judge_id, hackathon_id, assigned_at)"
                    " VALUES (:sid, :jid, :hid, :at)"
                ),
                {
                    "sid": submission_a["submission_id"],
                    "jid": cap.account_id,
                    "hid": hid,
                    "at": datetime.now(UTC),
                },
            )
    finally:
        await scoring.dispose()
    refused = await api.http.put(
        f"/submissions/{submission_a['submission_id']}/scores/me", headers=cap.auth, json=marks
    )
    problem = assert_problem(refused, 403, "conflict-of-interest")
    assert "member of this team" in problem["detail"]
    board = (await api.http.get(f"/hackathons/{hid}/leaderboard", headers=organizer)).json()
    [entry_a] = [e for e in board["entries"] if e["submission_id"] == submission_a["submission_id"]]
    assert entry_a["judges"] == 1
