"""Submissions: in hacking, before the deadline, by a member of a team of at least
``min_team_size``, one per team, versions 1, 2, 3..., for the team's own hackathon and
challenge; replayed at the positions they name (the hackathon in hacking; the team active,
the submitter a member, big enough); a submission written before ``seen`` existed that names
``members`` and a ``team_sequence`` names the team as of that team event. Withdrawals name
a known submission. Kept for the other groups: every version of each submission, and when
each was withdrawn."""

from __future__ import annotations

from audit.checks.hackathons import hackathon, phase_at
from audit.checks.positions import forbidden, named, phases_named
from audit.checks.state import LogState, Team
from audit.facts import HackathonCreatedFact, SubmissionReceivedFact, SubmissionWithdrawnFact
from audit.reading import Item


def check_submissions(s: LogState) -> None:
    submission_of_team: dict[str, str] = {}
    for item, received in s.of(SubmissionReceivedFact):
        p = received
        when = received.occurred_at
        versions = s.submissions[p.submission_id]
        if versions and p.version != versions[-1][1].version + 1:
            s.report(
                "rule",
                "submission-version",
                f"version {p.version} after version {versions[-1][1].version}",
                item,
            )
        versions.append((item, received))
        other = submission_of_team.setdefault(p.team_id, p.submission_id)
        if other != p.submission_id:
            s.report(
                "rule",
                "second-submission",
                f"team {p.team_id} already has submission {other}; one per team",
                item,
            )
        found = hackathon(s, item, p.hackathon_id)
        # Replayed at the positions it names first: a rule broken there is reported
        # there, and not again by the comparison of times below.
        broken = _replayed_at_positions(s, item, received, found)
        team = s.teams.get(p.team_id)
        if team is None:
            s.unknown(item, "team", p.team_id)
        elif team.hackathon_id != p.hackathon_id or team.challenge_id != p.challenge_id:
            s.report(
                "rule",
                "submission-mismatch",
                "the team's hackathon or challenge is not the submission's",
                item,
            )
        if found is None:
            continue
        if when >= found.submission_deadline:
            s.report(
                "rule",
                "submission-after-deadline",
                f"received at {when.isoformat()}, the deadline was "
                f"{found.submission_deadline.isoformat()}",
                item,
            )
        phase = phase_at(s, p.hackathon_id, when)
        if phase != "hacking" and "phase" not in broken:
            s.report(
                "rule",
                "submission-outside-hacking",
                f"received in phase {phase}; submissions are accepted in hacking only",
                item,
            )
        if team is not None:
            members = team.members_at(when) or ()
            if p.submitted_by not in members and "member" not in broken:
                s.report(
                    "rule",
                    "submission-by-non-member",
                    f"submitted by {p.submitted_by}, not a member of team {p.team_id} then",
                    item,
                )
            _check_named_members(s, item, received, team)
            if len(members) < found.min_team_size and "size" not in broken:
                s.report(
                    "rule",
                    "team-under-size",
                    f"the team had {len(members)} members; at least "
                    f"{found.min_team_size} are needed to submit",
                    item,
                )
    for item, withdrawn in s.of(SubmissionWithdrawnFact):
        if withdrawn.submission_id not in s.submissions:
            s.unknown(item, "submission", withdrawn.submission_id)
        s.withdrawals.setdefault(withdrawn.submission_id, withdrawn.occurred_at)


def submission(s: LogState, item: Item, submission_id: str) -> SubmissionReceivedFact | None:
    """The latest version of the submission ``item`` refers to; reported when unknown."""
    versions = s.submissions.get(submission_id)
    if not versions:
        s.unknown(item, "submission", submission_id)
        return None
    return versions[-1][1]


def _replayed_at_positions(
    s: LogState, item: Item, received: SubmissionReceivedFact, found: HackathonCreatedFact | None
) -> set[str]:
    """Replay a submission at its named positions: the hackathon in hacking; the team
    active, the submitter a member, at least ``min_team_size`` members. Returns the rules
    broken there (``phase``, ``withdrawn``, ``member``, ``size``)."""
    p = received
    broken: set[str] = set()
    for fact, phase, changed in phases_named(s, item, p.hackathon_id):
        if phase != "hacking":
            broken.add("phase")
            reason = f"the hackathon was in phase {phase}; submissions are accepted in hacking"
            forbidden(s, item, fact, [reason], changed)
    team = s.teams.get(p.team_id)
    for fact in named(s, item, "registration", p.team_id):
        at = team.states.at(fact.sequence) if team is not None else None
        if at is None:
            continue
        state, last = at
        reasons: list[str] = []
        if state.withdrawn:
            broken.add("withdrawn")
            reasons.append(f"team {p.team_id} had withdrawn")
        if p.submitted_by not in state.members:
            broken.add("member")
            reasons.append(
                f"{p.submitted_by} was not a member of team {p.team_id} "
                f"(members {sorted(state.members)})"
            )
        if found is not None and len(state.members) < found.min_team_size:
            broken.add("size")
            reasons.append(
                f"the team had {len(state.members)} members; at least "
                f"{found.min_team_size} are needed to submit"
            )
        if reasons:
            forbidden(s, item, fact, reasons, last)
    return broken


def _check_named_members(
    s: LogState, item: Item, received: SubmissionReceivedFact, team: Team
) -> None:
    """The members a submission names (those the notifications service told) are the team
    as of the team event it names."""
    p = received
    if p.team_sequence is None:
        return
    known = team.members_after(p.team_sequence)
    if known is None:
        s.report(
            "rule",
            "submission-members",
            f"it names event #{p.team_sequence} of team {p.team_id}, not in the log",
            item,
        )
    elif set(p.members) != set(known):
        s.report(
            "rule",
            "submission-members",
            f"it names members {sorted(p.members)}, but after its event #{p.team_sequence} "
            f"team {p.team_id} had {sorted(known)}",
            item,
        )
