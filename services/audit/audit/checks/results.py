"""Published results: once per hackathon, in judging (by the clock, and at the hackathon
positions they name), by an organizer; and the leaderboard and awards recomputed
(:mod:`audit.ranking`) from the rubric, the submissions and the valid scores before
publication, compared with what each ``ResultsPublished`` announced (the ``results``
check). Scores with a rule or reference finding are left out of the recomputation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from audit.checks.accounts import require_organizer
from audit.checks.hackathons import hackathon, phase_at
from audit.checks.positions import forbidden, phases_named
from audit.checks.state import LogState
from audit.facts import HackathonCreatedFact, ResultsPublishedFact, ScoreSubmittedFact
from audit.ranking import (
    Competitor,
    JudgeScore,
    entry_differences,
    method_differences,
    recompute_awards,
    recompute_ranking,
)
from audit.reading import Item
from audit.report import ResultsCheck

SCORE_TOLERANCE = 1e-4  # published scores have 4 decimals


def check_results(s: LogState, scores: list[tuple[Item, ScoreSubmittedFact]]) -> None:
    """``scores``: every score of the log, in chain order per submission."""
    submissions_of: dict[str, list[str]] = defaultdict(list)
    for submission_id, versions in s.submissions.items():
        if versions:
            submissions_of[versions[0][1].hackathon_id].append(submission_id)
    scores_of: dict[str, list[tuple[Item, ScoreSubmittedFact]]] = defaultdict(list)
    for score_item, score in scores:
        scores_of[score.hackathon_id].append((score_item, score))
    for item, published in s.of(ResultsPublishedFact):
        p = published
        found = hackathon(s, item, p.hackathon_id)
        if (item.sequence or 1) > 1:
            s.report("rule", "results-published-twice", "results published again", item)
        require_organizer(s, item, p.published_by, "results published")
        phase_broken = False
        for fact, phase_then, changed in phases_named(s, item, p.hackathon_id):
            if phase_then != "judging":
                phase_broken = True
                reason = (
                    f"the hackathon was in phase {phase_then}; results are published in judging"
                )
                forbidden(s, item, fact, [reason], changed)
        if found is None:
            continue
        _compare(
            s,
            item,
            published,
            found,
            submissions_of.get(p.hackathon_id, []),
            scores_of.get(p.hackathon_id, []),
        )
        if phase_broken:
            continue
        phase = phase_at(s, p.hackathon_id, published.occurred_at)
        if phase != "judging":
            s.report(
                "rule",
                "outside-judging",
                f"results published in phase {phase}; they are published in judging",
                item,
            )


def _compare(
    s: LogState,
    item: Item,
    published: ResultsPublishedFact,
    created: HackathonCreatedFact,
    submission_ids: list[str],
    scores: list[tuple[Item, ScoreSubmittedFact]],
) -> None:
    """``submission_ids`` and ``scores``: the hackathon's."""
    hid = created.hackathon_id
    at = published.occurred_at
    competitors = []
    for submission_id in submission_ids:
        first = s.submissions[submission_id][0][1]
        withdrawn_at = s.withdrawals.get(submission_id)
        competitors.append(
            Competitor(
                submission_id,
                first.team_id,
                first.first_submitted_at,
                withdrawn=withdrawn_at is not None and withdrawn_at <= at,
            )
        )
    flagged = s.verifier.flagged
    latest: dict[tuple[str, str], Mapping[str, float]] = {}
    for score_item, score in scores:  # in chain order per submission
        if (
            score.hackathon_id == hid
            and score.occurred_at <= at
            and score_item.event_id not in flagged
        ):
            latest[(score.submission_id, score.judge_id)] = score.scores
    weights = {c.key: c.weight for c in created.criteria}
    ranking = recompute_ranking(
        weights,
        created.normalization,
        competitors,
        [JudgeScore(judge, sub, values) for (sub, judge), values in latest.items()],
    )
    awards = recompute_awards(ranking, [(a.name, a.kind, a.amount, a.rank) for a in created.awards])
    differences: list[str] = []
    announced = published.entries
    if len(announced) != len(ranking):
        differences.append(f"{len(announced)} entries announced, {len(ranking)} recomputed")
    for mine, theirs in zip(ranking, announced, strict=False):
        wrong = entry_differences(mine, theirs, SCORE_TOLERANCE)
        if wrong:
            differences.append(
                f"rank {theirs.rank}: announced {theirs.submission_id} (team {theirs.team_id}, "
                f"score {theirs.score}, {theirs.judges} judges), recomputed rank {mine.rank} "
                f"{mine.submission_id} (team {mine.team_id}, score {mine.score:.4f}, "
                f"{mine.judges} judges): " + ", ".join(wrong)
            )
    differences.extend(
        method_differences(created.normalization, published.normalization, published.tie_break)
    )
    ranking_ok = not differences
    if differences:
        s.report(
            "results",
            "ranking-differs",
            "the published ranking is not the one the events give: "
            + "; ".join(differences[:5])
            + (f" (and {len(differences) - 5} more)" if len(differences) > 5 else ""),
            item,
        )
    granted = [(a.name, a.kind, a.amount, a.rank, a.team_id) for a in published.awards]
    expected = [(a.name, a.kind, a.amount, a.rank, a.team_id) for a in awards]
    if granted != expected:
        s.report(
            "results",
            "awards-differ",
            f"awards announced {granted}, recomputed {expected}",
            item,
        )
    s.verifier.results.append(
        ResultsCheck(
            hid, item.ref(), ranking_ok and granted == expected, len(announced), len(granted)
        )
    )
