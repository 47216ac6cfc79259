"""Assigning judges to submissions: a pure, deterministic function of its inputs.

Every submission gets ``judges_per_submission`` distinct judges, never one with a declared
conflict with the submission's team. Submissions are served in id order; each takes, among
its eligible judges, those with the fewest assignments so far (ties to the smaller judge id),
which keeps judges' loads within one of each other whenever conflicts do not force
otherwise. Existing assignments are kept and counted, so running it again only adds what is
new, and the same inputs always give the same result."""

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
    for submission in ordered:
        chosen = result.judges_of[submission.submission_id]
        eligible = [
            j.judge_id
            for j in panel
            if submission.team_id not in j.conflicts and j.judge_id not in chosen
        ]
        needed = judges_per_submission - len(chosen)
        if needed <= 0:
            continue
        picks = sorted(eligible, key=lambda judge_id: (load[judge_id], judge_id))[:needed]
        for judge_id in picks:
            load[judge_id] += 1
            result.added.append((submission.submission_id, judge_id))
        chosen.extend(picks)
        chosen.sort()
        if len(picks) < needed:
            result.shortfalls.append(
                Shortfall(
                    submission.submission_id,
                    assigned=len(chosen),
                    needed=judges_per_submission,
                    eligible=len(eligible) + len(chosen) - len(picks),
                )
            )
    return result
