"""Helpers for the whole-lifecycle test (tests/test_lifecycle.py): snapshots of state to show
that a rejected request changed nothing, waiting for notifications, and the leaderboard
computed independently of the scoring service from docs/scoring.md. (Reading whole paginated
lists is tests/journey_helpers.py's ``every_item``.)"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from tests.journey_helpers import Json, Person, every_item
from tests.platform_fixtures import Api
from tests.polling import wait_until

NOTIFICATION_TIMEOUT = 30.0


async def teams_snapshot(api: Api, hackathon_id: str) -> list[Json]:
    """The hackathon's teams as anyone sees them, in a stable order."""
    teams = await every_item(api, f"/hackathons/{hackathon_id}/teams", limit=2)
    return sorted(teams, key=lambda team: str(team["team_id"]))


# --------------------------------------------------------------------------------------------
# Notifications
# --------------------------------------------------------------------------------------------


async def feed(api: Api, person: Person) -> list[Json]:
    """The person's whole feed, newest first."""
    return await every_item(api, "/notifications", person.auth)


async def kinds_arrived(api: Api, person: Person, expected: Mapping[str, int]) -> list[Json]:
    """Wait until ``person``'s feed holds at least ``expected`` notifications of each kind;
    then the feed must hold exactly those (no kind and no count more). Returns the feed."""
    seen: list[Counter[str]] = [Counter()]

    async def arrived() -> list[Json]:
        items = await feed(api, person)
        seen[0] = Counter(str(n["kind"]) for n in items)
        return items if all(seen[0][k] >= v for k, v in expected.items()) else []

    items: list[Json] = await wait_until(
        arrived,
        timeout=NOTIFICATION_TIMEOUT,
        interval=0.2,
        message=lambda: f"{person.name}'s notifications: {dict(seen[0])}, wanted {dict(expected)}",
    )
    assert Counter(str(n["kind"]) for n in items) == Counter(expected), (person.name, items)
    return items


# --------------------------------------------------------------------------------------------
# The leaderboard, computed here from docs/scoring.md
# --------------------------------------------------------------------------------------------


def weighted_total(criteria: Sequence[Json], values: Mapping[str, float]) -> float:
    """A judge's total: the weighted mean of the criterion values."""
    weights = sum(float(c["weight"]) for c in criteria)
    return sum(float(c["weight"]) * float(values[c["key"]]) for c in criteria) / weights


def expected_entries(
    criteria: Sequence[Json],
    scores: Mapping[str, Mapping[str, Mapping[str, float]]],
    submission_order: Sequence[str],
    details: Mapping[str, Json],
) -> list[Json]:
    """The leaderboard (normalisation ``none``) from each submission's latest scores per
    judge (``scores[submission_id][judge_id]``): a judge's total is the weighted mean of the
    values, a submission's score the mean of its judges' totals; ranked by that score
    (compared to 9 decimals) descending, ties to the earlier first submission
    (``submission_order``, oldest first), then the smaller submission id; scores shown
    rounded to 4 decimals; tied entries (equal scores) share their score rank (1, 1, 3).
    ``details[submission_id]`` gives team_id, team_name and title."""
    rows: list[tuple[float, int, str, int]] = []
    for submission_id, by_judge in scores.items():
        if not by_judge:
            continue
        totals = [weighted_total(criteria, values) for values in by_judge.values()]
        mean = math.fsum(totals) / len(totals)
        rows.append((mean, submission_order.index(submission_id), submission_id, len(totals)))
    rows.sort(key=lambda row: (-round(row[0], 9), row[1], row[2]))
    same = Counter(round(row[0], 9) for row in rows)  # equal scores: a tie
    return [
        {
            "rank": rank,
            "submission_id": submission_id,
            "team_id": details[submission_id]["team_id"],
            "team_name": details[submission_id]["team_name"],
            "title": details[submission_id]["title"],
            "score": round(mean, 4),
            "judges": judges,
            "raw_mean": round(mean, 4),  # no normalisation: the score itself
            "score_rank": 1 + sum(1 for row in rows if round(row[0], 9) > round(mean, 9)),
            "tied_with": same[round(mean, 9)] - 1,
            # every submission here was first submitted at its own moment
            "placed_by": "score" if same[round(mean, 9)] == 1 else "earlier_first_submission",
        }
        for rank, (mean, _, submission_id, judges) in enumerate(rows, start=1)
    ]


def expected_awards(awards: Sequence[Json], entries: Sequence[Json]) -> list[Json]:
    """Each award to the team at its rank (``None`` when no team reached it), by rank."""
    team_at = {entry["rank"]: entry["team_id"] for entry in entries}
    return [
        {
            "name": award["name"],
            "kind": award["kind"],
            "amount": award.get("amount"),
            "rank": award["rank"],
            "team_id": team_at.get(award["rank"]),
        }
        for award in sorted(awards, key=lambda a: int(a["rank"]))
    ]
