"""Assignments and scores: in judging only and before the results, replayed at the hackathon
positions they name (in judging, the judge enrolled); never for a judge in conflict with the
team (:func:`audit.checks.judges.conflict_reasons`: a declared conflict, as last declared or
as of a named position, or the judge's membership of the team); an assignment for the
submission's own team; scores only by a judge assigned the submission earlier in its chain,
with values for exactly the rubric's criteria within their scales, ``total`` the weighted
mean, revisions increasing."""

from __future__ import annotations

import math

from audit.checks.hackathons import hackathon, phase_at
from audit.checks.judges import conflict_reasons, enrolled
from audit.checks.positions import forbidden, named
from audit.checks.state import LogState, occurred
from audit.checks.submissions import submission
from audit.facts import (
    HackathonCreatedFact,
    JudgeAssignedFact,
    ResultsPublishedFact,
    ScoreSubmittedFact,
)
from audit.ranking import judge_total
from audit.reading import Item

TOTAL_TOLERANCE = 1e-9


def check_judging(s: LogState) -> list[tuple[Item, ScoreSubmittedFact]]:
    """Check every assignment and score; returns the scores, in chain order per submission."""
    for _item, published in s.of(ResultsPublishedFact):
        s.results_at.setdefault(published.hackathon_id, published.occurred_at)
    assigned: dict[tuple[str, str], int] = {}  # (submission, judge) -> sequence
    for item, event in s.of(JudgeAssignedFact):
        p = event
        found = submission(s, item, p.submission_id)
        conflicts = enrolled(s, item, p.hackathon_id, p.judge_id)
        if found is not None and found.team_id != p.team_id:
            s.report("rule", "assignment-mismatch", "not the submission's team", item)
        phase_broken, conflicts_then = _replayed_at_positions(
            s, item, p.hackathon_id, p.judge_id, "judges are assigned"
        )
        reasons = conflict_reasons(
            s, p.judge_id, p.team_id, (conflicts or frozenset()) | conflicts_then
        )
        if reasons:
            s.report("rule", "conflicted-judge", reasons, item)
        if not phase_broken:
            _check_phase(s, item, p.hackathon_id, "judge assigned")
        assigned.setdefault((p.submission_id, p.judge_id), item.sequence or 0)
    scores: list[tuple[Item, ScoreSubmittedFact]] = []
    revisions: dict[tuple[str, str], int] = {}
    for item, score in s.of(ScoreSubmittedFact):
        p_s = score
        scores.append((item, score))
        found = submission(s, item, p_s.submission_id)
        conflicts = enrolled(s, item, p_s.hackathon_id, p_s.judge_id)
        when_assigned = assigned.get((p_s.submission_id, p_s.judge_id))
        if when_assigned is None or when_assigned > (item.sequence or 0):
            s.report(
                "rule",
                "score-by-unassigned-judge",
                f"judge {p_s.judge_id} was not assigned submission {p_s.submission_id}",
                item,
            )
        team_id = found.team_id if found is not None else None
        phase_broken, conflicts_then = _replayed_at_positions(
            s, item, p_s.hackathon_id, p_s.judge_id, "scores are accepted"
        )
        if team_id is not None:
            reasons = conflict_reasons(
                s, p_s.judge_id, team_id, (conflicts or frozenset()) | conflicts_then
            )
            if reasons:
                s.report("rule", "conflicted-judge", reasons, item)
        if not phase_broken:
            _check_phase(s, item, p_s.hackathon_id, "scored")
        key = (p_s.submission_id, p_s.judge_id)
        if p_s.revision <= revisions.get(key, 0):  # a gap is the chain's finding
            s.report(
                "rule",
                "invalid-score",
                f"revision {p_s.revision} after revision {revisions.get(key, 0)}",
                item,
            )
        revisions[key] = max(p_s.revision, revisions.get(key, 0))
        created = s.hackathons.get(p_s.hackathon_id)
        if created is not None:
            _check_values(s, item, score, created[1])
    return scores


def _replayed_at_positions(
    s: LogState, item: Item, hackathon_id: str, judge_id: str, what: str
) -> tuple[bool, frozenset[str]]:
    """Replay a judging decision at its named hackathon positions: the hackathon in
    judging, the judge enrolled. Returns whether the phase was wrong there, and the
    judge's declared conflicts as of those positions."""
    phase_broken = False
    conflicts: set[str] = set()
    phases = s.phase_history.get(hackathon_id)
    enrolment = s.judge_history.get((hackathon_id, judge_id))
    for fact in named(s, item, "registration", hackathon_id):
        reasons: list[str] = []
        related: Item | None = None
        at = phases.at(fact.sequence) if phases is not None else None
        if at is not None and at[0] != "judging":
            phase_broken = True
            related = at[1]
            reasons.append(f"the hackathon was in phase {at[0]}; {what} in judging only")
        if enrolment is not None:  # never enrolled at all: an unknown reference
            enrolled_then = enrolment.at(fact.sequence)
            if enrolled_then is None:
                reasons.append(
                    f"judge {judge_id} was not enrolled yet (enrolled at #{enrolment.sequences[0]})"
                )
                related = related or enrolment.items[0]
            else:
                conflicts |= enrolled_then[0]
        if reasons:
            forbidden(s, item, fact, reasons, related)
    return phase_broken, frozenset(conflicts)


def _check_phase(s: LogState, item: Item, hackathon_id: str, what: str) -> None:
    if hackathon(s, item, hackathon_id) is None:
        return
    when = occurred(item)
    phase = phase_at(s, hackathon_id, when)
    closed = s.results_at.get(hackathon_id)
    if phase != "judging" or (closed is not None and when > closed):
        state = f"phase {phase}" if phase != "judging" else "after the results were published"
        s.report(
            "rule",
            "outside-judging" if what != "scored" else "score-outside-judging",
            f"{what} in {state}; judging happens in the judging phase only",
            item,
        )


def _check_values(
    s: LogState, item: Item, event: ScoreSubmittedFact, created: HackathonCreatedFact
) -> None:
    criteria = {c.key: c for c in created.criteria}
    values = event.scores
    problems: list[str] = []
    if set(values) != set(criteria):
        problems.append(f"criteria {sorted(values)} instead of {sorted(criteria)}")
    for key, value in values.items():
        criterion = criteria.get(key)
        if criterion is not None and not criterion.min <= value <= criterion.max:
            problems.append(f"{key}={value} outside {criterion.min}..{criterion.max}")
    if not problems:
        weights = {k: c.weight for k, c in criteria.items()}
        total = judge_total(weights, values)
        if not math.isclose(total, event.total, rel_tol=TOTAL_TOLERANCE):
            problems.append(f"total {event.total} is not the weighted mean {total}")
    if problems:
        s.report("rule", "invalid-score", "; ".join(problems), item)
