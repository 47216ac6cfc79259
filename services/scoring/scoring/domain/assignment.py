"""Assigning judges to submissions: a pure, deterministic function of its inputs.

Every submission gets ``judges_per_submission`` distinct judges, never one with a declared
conflict with the submission's team. Submissions are served most constrained first (fewest
eligible judges, then id); each takes, among its eligible judges, those with the fewest
assignments so far (ties to the smaller judge id). Then, while a newly added pair can move
from its judge to an eligible judge with at least two fewer assignments, it moves (pairs and
targets taken in a fixed order). Existing assignments are kept and counted, so
running it again only adds what is new, and the same inputs always give the same result.

Without conflicts loads end within one of each other; with conflicts no single move of a new
pair can narrow the spread any more (a local optimum, checked by the property tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SubmissionToJudge:
    submission_id: str
    team_id: str


@dataclass(frozen=True)
class Judge:
    judge_id: str
    conflicts: frozenset[str] = frozenset()  # team ids


@dataclass(frozen=True)
class Shortfall:
    """A submission that could not get all its judges, and why."""

    submission_id: str
    assigned: int
    needed: int
    eligible: int

    @property
    def reason(self) -> str:
        return (
            f"{self.eligible} eligible judges for {self.needed} places "
            "(judges with a conflict with the team are excluded)"
        )


@dataclass
class Assignment:
    judges_of: dict[str, list[str]] = field(default_factory=dict)  # submission -> judges
    added: list[tuple[str, str]] = field(default_factory=list)  # (submission, judge), new
    shortfalls: list[Shortfall] = field(default_factory=list)

    def loads(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for judges in self.judges_of.values():
            for judge in judges:
                counts[judge] = counts.get(judge, 0) + 1
        return counts


def assign(
    submissions: Iterable[SubmissionToJudge],
    judges: Iterable[Judge],
    judges_per_submission: int,
    existing: Mapping[str, Iterable[str]] | None = None,
) -> Assignment:
    existing = existing or {}
    panel = sorted(judges, key=lambda j: j.judge_id)
    result = Assignment()
    load = {judge.judge_id: 0 for judge in panel}
    ordered = sorted(submissions, key=lambda s: s.submission_id)
    for submission in ordered:
        kept = sorted(set(existing.get(submission.submission_id, ())))
        result.judges_of[submission.submission_id] = kept
        for judge_id in kept:
            load[judge_id] = load.get(judge_id, 0) + 1

    def eligible_for(submission: SubmissionToJudge) -> list[str]:
        return [j.judge_id for j in panel if submission.team_id not in j.conflicts]

    most_constrained_first = sorted(ordered, key=lambda s: (len(eligible_for(s)), s.submission_id))
    for submission in most_constrained_first:
        chosen = result.judges_of[submission.submission_id]
        eligible = [j for j in eligible_for(submission) if j not in chosen]
        needed = judges_per_submission - len(chosen)
        if needed <= 0:
            continue
        picks = sorted(eligible, key=lambda judge_id: (load[judge_id], judge_id))[:needed]
        for judge_id in picks:
            load[judge_id] += 1
            result.added.append((submission.submission_id, judge_id))
        chosen.extend(picks)
        chosen.sort()
        if len(picks) < needed:  # recorded in id order below
            result.shortfalls.append(
                Shortfall(
                    submission.submission_id,
                    assigned=len(chosen),
                    needed=judges_per_submission,
                    eligible=len(eligible) + len(chosen) - len(picks),
                )
            )
    _rebalance(result, {s.submission_id: set(eligible_for(s)) for s in ordered}, load)
    result.added.sort()
    result.shortfalls.sort(key=lambda shortfall: shortfall.submission_id)
    return result


def _rebalance(result: Assignment, eligible: dict[str, set[str]], load: dict[str, int]) -> None:
    """Move newly added pairs from heavily to lightly loaded judges while that narrows the
    spread (each move lowers the sum of squared loads, so this ends)."""
    moved = True
    while moved:
        moved = False
        for submission_id, judge_id in sorted(result.added):
            chosen = result.judges_of[submission_id]
            lighter = sorted(
                (j for j in eligible[submission_id] if j not in chosen),
                key=lambda j: (load[j], j),
            )
            if lighter and load[lighter[0]] <= load[judge_id] - 2:
                target = lighter[0]
                position = result.added.index((submission_id, judge_id))
                result.added[position] = (submission_id, target)
                chosen.remove(judge_id)
                chosen.append(target)
                chosen.sort()
                load[judge_id] -= 1
                load[target] += 1
                moved = True
                break
