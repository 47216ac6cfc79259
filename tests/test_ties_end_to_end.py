"""Ties are visible, end to end through the gateway: three teams a judge scores alike under
z-score normalisation are shown tied (one score rank, how many share it, what placed each),
the stated tie-break (the earlier first submission) places them and so decides the awards,
the results show the method and each raw mean beside the normalised score, the message to
each team says it, and the audit recomputes the same and verifies clean."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.report import render
from audit.verify import verify
from tests.journey_helpers import (
    Hackathon,
    Person,
    assert_problem,
    enrol_judge,
    move_to,
    participant,
    platform_log,
    submission_body,
    submit,
    team_of,
)
from tests.platform_fixtures import Api, events_on
from tests.polling import wait_until

Json = dict[str, Any]
TIE_BREAK = "earlier_first_submission_then_smaller_submission_id"
Z = 0.5774  # 7 among totals 7, 7, 7, 4: (7 - 6.25) / sqrt(1.6875), to 4 decimals


async def zscore_hackathon(api: Api) -> Hackathon:
    """A hackathon normalised by z-score, with a grant for first place and mentorship for
    second, open for registration."""
    created = await api.http.post(
        "/hackathons",
        headers=await api.organizer(),
        json={
            "name": f"Tied Jam {secrets.token_hex(4)}",
            "challenges": [{"title": "Open budgets"}],
            "min_team_size": 1,
            "max_team_size": 2,
            "max_teams": 10,
            "submission_deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "rubric": {
                "criteria": [{"key": "impact", "weight": 2}, {"key": "feasibility", "weight": 1}],
                "normalization": "zscore",
            },
            "judges_per_submission": 1,
            "awards": [
                {"name": "Seed grant", "rank": 1, "kind": "grant", "amount": 5000},
                {"name": "Mentorship", "rank": 2, "kind": "mentorship"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    hackathon = Hackathon(body["hackathon_id"], [c["challenge_id"] for c in body["challenges"]])
    await move_to(api, hackathon, "registration")
    return hackathon


async def results_message(api: Api, person: Person) -> Json:
    """The results notification in ``person``'s feed (it arrives in its own time)."""

    async def arrived() -> Json | None:
        answer = await api.http.get("/notifications", headers=person.auth, params={"limit": 200})
        assert answer.status_code == 200, answer.text
        found = [n for n in answer.json()["items"] if n["kind"] == "results_published"]
        return found[0] if found else None

    message: Json = await wait_until(
        arrived, timeout=30, interval=0.1, message=f"the results message for {person.name}"
    )
    return message


async def test_tied_teams_are_shown_tied_and_placed_by_the_stated_rule(api: Api) -> None:
    hackathon = await zscore_hackathon(api)
    hid = hackathon.hackathon_id
    captains = [await participant(api, hackathon, name) for name in ("Ada", "Bo", "Cy", "Di")]
    ada, bo, cy, di = captains
    teams = {c.name: await team_of(api, hackathon, c) for c in captains}
    judge = await participant(api, hackathon, "Judge")
    await enrol_judge(api, hackathon, judge)
    await move_to(api, hackathon, "hacking")
    # First submissions in the order Cy, Ada, Bo, Di: not the order the teams were formed
    # in. Cy submits a second version last; its first submission still counts.
    submitted = {}
    for captain in (cy, ada, bo, di):
        version = await submit(api, teams[captain.name]["team_id"], captain, submission_body())
        submitted[captain.name] = version["submission_id"]
    await submit(api, teams["Cy"]["team_id"], cy, submission_body(title="Open budgets, v2"))
    await move_to(api, hackathon, "judging")
    organizer = await api.organizer()
    assigned = await api.http.post(f"/hackathons/{hid}/assignments", headers=organizer)
    assert assigned.status_code == 200, assigned.text
    assert len(assigned.json()["assignments"]) == 4
    # The judge gives Ada, Bo and Cy the same marks (total 7) and Di less (total 4), scoring
    # Bo first and Cy last.
    marks = {"Bo": 7.0, "Ada": 7.0, "Cy": 7.0, "Di": 4.0}
    for name, mark in marks.items():
        scored = await api.http.put(
            f"/submissions/{submitted[name]}/scores/me",
            headers=judge.auth,
            json={"scores": {"impact": mark, "feasibility": mark}},
        )
        assert scored.status_code == 200, scored.text

    team_ids = {name: team["team_id"] for name, team in teams.items()}
    expected = [
        # (team, place, score rank, tied with, placed by, score, raw mean)
        ("Cy", 1, 1, 2, "earlier_first_submission", Z, 7.0),
        ("Ada", 2, 1, 2, "earlier_first_submission", Z, 7.0),
        ("Bo", 3, 1, 2, "earlier_first_submission", Z, 7.0),
        ("Di", 4, 4, 0, "score", -1.7321, 4.0),
    ]

    def shown(entries: list[Json]) -> list[tuple[Any, ...]]:
        names = {team_id: name for name, team_id in team_ids.items()}
        return [
            (
                names[e["team_id"]],
                e["rank"],
                e["score_rank"],
                e["tied_with"],
                e["placed_by"],
                e["score"],
                e["raw_mean"],
            )
            for e in entries
        ]

    # The organizer's live leaderboard already shows the tie, the method and the rule.
    board = (await api.http.get(f"/hackathons/{hid}/leaderboard", headers=organizer)).json()
    assert board["published"] is False
    assert (board["normalization"], board["tie_break"]) == ("zscore", TIE_BREAK)
    assert shown(board["entries"]) == expected
    assert [e["submission_id"] for e in board["entries"]] == [
        submitted[name] for name in ("Cy", "Ada", "Bo", "Di")
    ]

    published = await api.http.post(f"/hackathons/{hid}/results", headers=organizer)
    assert published.status_code == 201, published.text
    results = published.json()
    assert (results["normalization"], results["tie_break"]) == ("zscore", TIE_BREAK)
    assert results["entries"] == board["entries"]
    # The tie-break decides the awards: the grant goes to the earliest first submission.
    assert [(a["name"], a["rank"], a["team_id"]) for a in results["awards"]] == [
        ("Seed grant", 1, team_ids["Cy"]),
        ("Mentorship", 2, team_ids["Ada"]),
    ]
    # Public and frozen; publishing again is refused and changes nothing.
    again = await api.http.post(f"/hackathons/{hid}/results", headers=organizer)
    assert_problem(again, 409, "results-published")
    assert (await api.http.get(f"/hackathons/{hid}/results")).json() == results
    public = (await api.http.get(f"/hackathons/{hid}/leaderboard")).json()
    assert public["published"] is True
    assert (public["normalization"], public["tie_break"]) == ("zscore", TIE_BREAK)
    assert public["entries"] == results["entries"]

    # ResultsPublished states the same: the method, the rule and each entry's tie.
    [event] = await events_on(
        api.platform,
        "scoring.events",
        lambda e: e.type == "ResultsPublished" and e.aggregate_id == hid,
    )
    assert (event.payload.normalization, event.payload.tie_break) == ("zscore", TIE_BREAK)
    assert [
        (e.rank, e.score_rank, e.tied_with, e.placed_by, e.score, e.raw_mean)
        for e in event.payload.entries
    ] == [row[1:] for row in expected]

    # Each team is told: the tied ones that they are tied, with the rule that placed them.
    rule = (
        "places among tied teams go by the tie-break: the earlier first submission, then "
        "the smaller submission id. Yours was placed by the time of its first submission."
    )
    first = await results_message(api, cy)
    assert first["subject"].endswith("your team ranked 1 of 4 (tied with 2 others)")
    assert f"ranked 1 of 4 with a score of {Z} (normalised by z-score" in first["body"]
    assert "before normalisation was 7.0)" in first["body"]
    assert "It is tied with 2 other teams on that score; " + rule in first["body"]
    assert 'It wins the award "Seed grant" (grant, 5000.0).' in first["body"]
    third = await results_message(api, bo)
    assert third["subject"].endswith("your team ranked 3 of 4 (tied with 2 others)")
    assert rule in third["body"] and "award" not in third["body"]
    last = await results_message(api, di)
    assert last["subject"].endswith("your team ranked 4 of 4")
    assert "tied" not in last["subject"] + last["body"]

    # The audit recomputes the ranking, ties included, from the log and finds it clean.
    platform = api.platform
    reports: list[str] = []

    async def audited_clean() -> bool:
        # The results reach the log a moment after the answer above.
        records = await platform_log(platform)
        report = verify(records, hackathons=[hid])
        reports[:] = [render(report)]
        return report.clean and [r.matches for r in report.results] == [True]

    await wait_until(
        audited_clean,
        timeout=60,
        interval=0.5,
        message=lambda: f"the audit of {hid} never came out clean with its results: {reports}",
    )
