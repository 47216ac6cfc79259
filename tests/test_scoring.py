"""Judging end to end through the gateway: assignment with conflicts, scores, the leaderboard
against a computation made here, results and awards. Each step is one plain call right after
its cause (the platform answers as one program would), and each of scoring's decisions names
the facts of other services it was taken on (``seen``)."""

from __future__ import annotations

from typing import Any

from hackathon_shared.events.catalogue import SeenFact
from hackathon_shared.topics import REGISTRATION_EVENTS
from tests.journey_helpers import (
    Hackathon,
    Person,
    assert_problem,
    create_hackathon,
    last_sequence,
    move_to,
    participant,
    submission_body,
    submit,
    team_of,
)
from tests.platform_fixtures import Api, events_on

Json = dict[str, Any]
WEIGHTS = {"impact": 2.0, "feasibility": 1.0}  # the journey helpers' rubric


async def enrol(api: Api, hackathon: Hackathon, judge: Person, conflicts: list[str]) -> None:
    answer = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/judges",
        headers=await api.organizer(),
        json={"email": judge.email, "conflicts": conflicts},
    )
    assert answer.status_code == 201, answer.text


def weighted(values: dict[str, float]) -> float:
    return sum(WEIGHTS[k] * v for k, v in values.items()) / sum(WEIGHTS.values())


async def test_a_hackathon_is_judged_ranked_and_its_results_published(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration", max_teams=5)
    hid = hackathon.hackathon_id
    captains = [await participant(api, hackathon, f"Captain{i}") for i in range(3)]
    teams = [await team_of(api, hackathon, captain) for captain in captains]
    judges = [await participant(api, hackathon, f"Judge{i}") for i in range(2)]
    # judge0 may not judge team0, judge1 may not judge team1
    await enrol(api, hackathon, judges[0], [teams[0]["team_id"]])
    await enrol(api, hackathon, judges[1], [teams[1]["team_id"]])
    await move_to(api, hackathon, "hacking")
    submissions = [
        await submit(api, team["team_id"], captain, submission_body(title=f"Idea {i}"))
        for i, (team, captain) in enumerate(zip(teams, captains, strict=True))
    ]
    organizer = await api.organizer()
    assert_problem(
        await api.http.post(f"/hackathons/{hid}/assignments", headers=organizer), 409, "wrong-phase"
    )
    await move_to(api, hackathon, "judging")
    # The hackathon as of the move to judging: what scoring's decisions are taken on.
    judging_sequence = await last_sequence(api.platform, REGISTRATION_EVENTS, hid)

    # Right after the move: every submission is assigned, in one run.
    answer = await api.http.post(f"/hackathons/{hid}/assignments", headers=organizer)
    assert answer.status_code == 200, answer.text
    assignment: Json = answer.json()
    assert len(assignment["assignments"]) == 3, assignment
    judge_of = {a["submission_id"]: a["judge_ids"] for a in assignment["assignments"]}
    by_team = {s["team_id"]: s["submission_id"] for s in submissions}
    # judges_per_submission is 1: the conflicts decide two of the three.
    assert judge_of[by_team[teams[0]["team_id"]]] == [judges[1].account_id]
    assert judge_of[by_team[teams[1]["team_id"]]] == [judges[0].account_id]
    assert assignment["shortfalls"] == []
    again = await api.http.post(f"/hackathons/{hid}/assignments", headers=organizer)
    assert again.json() == assignment  # nothing new to assign
    assert_problem(
        await api.http.post(f"/hackathons/{hid}/assignments", headers=judges[0].auth),
        403,
        "forbidden",
    )

    # Each judge sees what to score.
    mine = await api.http.get("/judging/assignments", headers=judges[0].auth)
    assert mine.status_code == 200
    assert {a["submission_id"] for a in mine.json()["items"]} == {
        s for s, j in judge_of.items() if j == [judges[0].account_id]
    }
    assert all(a["scored"] is False for a in mine.json()["items"])

    # Bad scores name every offending field and change nothing.
    target = by_team[teams[0]["team_id"]]
    bad = await api.http.put(
        f"/submissions/{target}/scores/me",
        headers=judges[1].auth,
        json={"scores": {"impact": 11, "novelty": 3}},
    )
    assert_problem(bad, 422, "validation")
    assert {e["field"] for e in bad.json()["errors"]} == {
        "scores.impact",
        "scores.feasibility",
        "scores.novelty",
    }
    unassigned = await api.http.put(
        f"/submissions/{target}/scores/me",
        headers=judges[0].auth,
        json={"scores": {"impact": 5, "feasibility": 5}},
    )
    assert_problem(unassigned, 403, "not-assigned")

    values: dict[str, dict[str, float]] = {}
    for submission_id, (judge_id,) in judge_of.items():
        judge = next(j for j in judges if j.account_id == judge_id)
        chosen = {"impact": 3.0 + len(values) * 3, "feasibility": 9.0 - len(values)}
        scored = await api.http.put(
            f"/submissions/{submission_id}/scores/me",
            headers=judge.auth,
            json={"scores": chosen, "comment": "clear and useful"},
        )
        assert scored.status_code == 200, scored.text
        assert scored.json()["revision"] == 1
        assert abs(scored.json()["total"] - weighted(chosen)) < 1e-9
        values[submission_id] = chosen
    # A second scoring replaces the first.
    first_id = next(iter(values))
    judge = next(j for j in judges if j.account_id == judge_of[first_id][0])
    values[first_id] = {"impact": 10.0, "feasibility": 10.0}
    rescored = await api.http.put(
        f"/submissions/{first_id}/scores/me", headers=judge.auth, json={"scores": values[first_id]}
    )
    assert rescored.json()["revision"] == 2

    # The leaderboard: organizers only until published; equal to a computation made here.
    hidden = await api.http.get(f"/hackathons/{hid}/leaderboard", headers=captains[0].auth)
    assert_problem(hidden, 403, "not-published")
    board = (await api.http.get(f"/hackathons/{hid}/leaderboard", headers=organizer)).json()
    expected = sorted(values, key=lambda s: -round(weighted(values[s]), 4))
    assert board["published"] is False
    assert [e["submission_id"] for e in board["entries"]] == expected
    for entry in board["entries"]:
        assert entry["score"] == round(weighted(values[entry["submission_id"]]), 4)
        assert entry["judges"] == 1
    assert [e["rank"] for e in board["entries"]] == [1, 2, 3]

    assert_problem(await api.http.get(f"/hackathons/{hid}/results"), 404, "results-not-published")
    published = await api.http.post(f"/hackathons/{hid}/results", headers=organizer)
    assert published.status_code == 201, published.text
    results = published.json()
    assert results["entries"] == board["entries"]
    winner_team = board["entries"][0]["team_id"]
    assert results["awards"] == [
        {
            "name": "First prize",
            "kind": "grant",
            "amount": 1000.0,
            "rank": 1,
            "team_id": winner_team,
        }
    ]

    # Public now, frozen, and the hackathon finishes by itself.
    public = await api.http.get(f"/hackathons/{hid}/leaderboard")
    assert public.status_code == 200 and public.json()["published"] is True
    assert (await api.http.get(f"/hackathons/{hid}/results")).json() == results

    # Right after the results: registration's answer already reads finished.
    shown = await api.http.get(f"/hackathons/{hid}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["phase"] == "finished"
    late = await api.http.put(
        f"/submissions/{first_id}/scores/me", headers=judge.auth, json={"scores": values[first_id]}
    )
    assert_problem(late, 409, "results-published")
    assigned_events = await events_on(
        api.platform,
        "scoring.events",
        lambda e: e.type == "JudgeAssigned" and e.payload.hackathon_id == hid,
        count=3,
    )
    assert {(e.payload.submission_id, e.payload.judge_id) for e in assigned_events} == {
        (s, j[0]) for s, j in judge_of.items()
    }

    def decided_on(submission_id: str) -> set[SeenFact]:
        """The hackathon in judging, and the submission as of its one version."""
        return {
            SeenFact(producer="registration", aggregate_id=hid, sequence=judging_sequence),
            SeenFact(producer="submissions", aggregate_id=submission_id, sequence=1),
        }

    for event in assigned_events:
        assert len(event.payload.seen) == 2, event.payload.seen
        assert set(event.payload.seen) == decided_on(event.payload.submission_id)
    rescore_events = await events_on(
        api.platform,
        "scoring.events",
        lambda e: e.type == "ScoreSubmitted" and e.aggregate_id == first_id,
        count=2,
    )
    assert [e.payload.revision for e in rescore_events] == [1, 2]
    assert rescore_events[1].payload.scores == values[first_id]
    assert rescore_events[1].payload.total == weighted(values[first_id])
    for event in rescore_events:
        assert len(event.payload.seen) == 2, event.payload.seen
        assert set(event.payload.seen) == decided_on(first_id)
    # JudgeAssigned and the two scores form one chain on the submission's aggregate.
    assert [e.sequence for e in rescore_events] == [2, 3]
    [announced] = await events_on(
        api.platform,
        "scoring.events",
        lambda e: e.type == "ResultsPublished" and e.aggregate_id == hid,
    )
    assert [e.submission_id for e in announced.payload.entries] == expected
    # Computed on the hackathon in judging, each ranked team (as registered: team event 1)
    # and each ranked submission (its one version).
    ranked = [
        *(SeenFact(producer="registration", aggregate_id=t["team_id"], sequence=1) for t in teams),
        *(SeenFact(producer="submissions", aggregate_id=s, sequence=1) for s in expected),
        SeenFact(producer="registration", aggregate_id=hid, sequence=judging_sequence),
    ]
    assert len(announced.payload.seen) == len(ranked), announced.payload.seen
    assert set(announced.payload.seen) == set(ranked)
