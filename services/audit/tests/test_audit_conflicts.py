"""Judges' conflicts in the audit (issue 15): a judge conflicts with every team it is or was a
member of, whatever it declared, and a declared conflict changes only through a
`JudgeConflictsChanged` an organizer makes before judging. Each log here is a small hackathon
written as the services write it (every decision naming the positions it was taken on), with
one thing done wrong, or nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from audit.log import write_jsonl
from audit.report import render
from audit.sample import AWARDS, CRITERIA, LogBuilder, judged_hackathon
from audit.verify import Report, verify
from hackathon_cli.main import main
from hackathon_shared.events.catalogue import (
    ALL_EVENT_CLASSES,
    AccountCreated,
    AccountCreatedPayload,
    Challenge,
    HackathonCreated,
    HackathonCreatedPayload,
    HackathonPhaseChanged,
    HackathonPhaseChangedPayload,
    JudgeAssigned,
    JudgeAssignedPayload,
    JudgeConflictsChanged,
    JudgeConflictsChangedPayload,
    JudgeEnrolled,
    JudgeEnrolledPayload,
    ParticipantRegistered,
    ParticipantRegisteredPayload,
    Rubric,
    ScoreSubmitted,
    ScoreSubmittedPayload,
    SubmissionReceived,
    SubmissionReceivedPayload,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamMemberLeft,
    TeamMemberLeftPayload,
    TeamRegistered,
    TeamRegisteredPayload,
)
from scoring.domain.leaderboard import Criterion, weighted_total

PHASES = ("draft", "registration", "hacking", "judging")


class Story:
    """One hackathon written step by step into a log, as registration, submissions and
    scoring would write it."""

    def __init__(self) -> None:
        self.log = LogBuilder(prefix="conflicts.")
        self.accounts = 0
        self.organizer = self.account(["organizer"])
        self.hackathon_id = "hck_conflicts"
        self.challenge_id = "chl_conflicts"
        self.phase = "draft"
        self.log.add(
            HackathonCreated,
            HackathonCreatedPayload(
                hackathon_id=self.hackathon_id,
                name="Conflicts",
                challenges=[Challenge(challenge_id=self.challenge_id, title="Water")],
                min_team_size=1,
                max_team_size=3,
                max_teams=10,
                submission_deadline=self.log.now + timedelta(days=2),
                rubric=Rubric(criteria=CRITERIA),
                judges_per_submission=1,
                awards=AWARDS,
                created_by=self.organizer,
            ),
            aggregate_id=self.hackathon_id,
        )
        self.teams = 0
        self.enrolments: list[JudgeEnrolled] = []

    def account(self, roles: list[str]) -> str:
        self.accounts += 1
        account_id = f"acc_{self.accounts}"
        self.log.add(
            AccountCreated,
            AccountCreatedPayload(account_id=account_id, roles=roles),
            aggregate_id=account_id,
        )
        return account_id

    def move(self, to: str) -> None:
        for phase in PHASES[PHASES.index(self.phase) + 1 : PHASES.index(to) + 1]:
            self.log.add(
                HackathonPhaseChanged,
                HackathonPhaseChangedPayload(
                    hackathon_id=self.hackathon_id,
                    from_phase=self.phase,
                    to_phase=phase,
                    changed_by=self.organizer,
                ),
                aggregate_id=self.hackathon_id,
            )
            self.phase = phase

    def participant(self) -> str:
        person = self.account(["participant"])
        self.log.add(
            ParticipantRegistered,
            ParticipantRegisteredPayload(
                participant_id=f"par_{person}",
                account_id=person,
                hackathon_id=self.hackathon_id,
                sector="academia",
                consent_version="2024-01",
                consented_at=self.log.now,
            ),
            aggregate_id=self.hackathon_id,
        )
        return person

    def team(self, captain: str, *joiners: str) -> str:
        self.teams += 1
        team_id = f"team_{self.teams}"
        self.log.add(
            TeamRegistered,
            TeamRegisteredPayload(
                team_id=team_id,
                hackathon_id=self.hackathon_id,
                name=f"Team {self.teams}",
                challenge_id=self.challenge_id,
                captain_id=captain,
                members=[captain],
            ),
            aggregate_id=team_id,
        )
        for joiner in joiners:
            self.log.add(
                TeamMemberJoined,
                TeamMemberJoinedPayload(
                    team_id=team_id, hackathon_id=self.hackathon_id, account_id=joiner
                ),
                aggregate_id=team_id,
            )
        return team_id

    def leave(self, team_id: str, person: str) -> None:
        self.log.add(
            TeamMemberLeft,
            TeamMemberLeftPayload(
                team_id=team_id, hackathon_id=self.hackathon_id, account_id=person
            ),
            aggregate_id=team_id,
        )

    def enrol(self, judge: str, conflicts: list[str]) -> None:
        event = self.log.add(
            JudgeEnrolled,
            JudgeEnrolledPayload(
                hackathon_id=self.hackathon_id, judge_id=judge, conflicts=conflicts
            ),
            aggregate_id=self.hackathon_id,
        )
        assert isinstance(event, JudgeEnrolled)
        self.enrolments.append(event)

    def change(self, judge: str, conflicts: list[str], by: str | None = None) -> dict[str, str]:
        """The organizer (or ``by``) replaces the judge's declared conflicts; returns where
        the event is in the log."""
        event = self.log.add(
            JudgeConflictsChanged,
            JudgeConflictsChangedPayload(
                hackathon_id=self.hackathon_id,
                judge_id=judge,
                conflicts=conflicts,
                changed_by=by or self.organizer,
            ),
            aggregate_id=self.hackathon_id,
        )
        return {"event_id": str(event.event_id)}

    def submit(self, team_id: str, author: str) -> str:
        submission_id = f"sub_{team_id}"
        at = self.log.tick()
        self.log.add(
            SubmissionReceived,
            SubmissionReceivedPayload(
                submission_id=submission_id,
                hackathon_id=self.hackathon_id,
                team_id=team_id,
                challenge_id=self.challenge_id,
                version=1,
                title="Water map",
                summary="Open sensors for cleaner water.",
                kind="technology",
                submitted_by=author,
                first_submitted_at=at,
                seen=self.log.seen(("registration", self.hackathon_id), ("registration", team_id)),
            ),
            aggregate_id=submission_id,
            occurred_at=at,
        )
        return submission_id

    def judge(self, submission_id: str, team_id: str, judge: str) -> tuple[str, str]:
        """Assign ``judge`` the submission, and the judge scores it; returns both event ids."""
        seen = self.log.seen(("registration", self.hackathon_id), ("submissions", submission_id))
        assigned = self.log.add(
            JudgeAssigned,
            JudgeAssignedPayload(
                hackathon_id=self.hackathon_id,
                submission_id=submission_id,
                team_id=team_id,
                judge_id=judge,
                seen=seen,
            ),
            aggregate_id=submission_id,
        )
        values = {"impact": 8.0, "feasibility": 6.0}
        scored = self.log.add(
            ScoreSubmitted,
            ScoreSubmittedPayload(
                hackathon_id=self.hackathon_id,
                submission_id=submission_id,
                judge_id=judge,
                scores=values,
                total=weighted_total([Criterion(c.key, c.weight) for c in CRITERIA], values),
                revision=1,
                seen=seen,
            ),
            aggregate_id=submission_id,
        )
        return str(assigned.event_id), str(scored.event_id)

    def report(self) -> Report:
        return verify(self.log.records())


def findings(report: Report, kind: str) -> list[tuple[str | None, str]]:
    """The (event id, message) of every finding of ``kind``."""
    return [(f.event.event_id, f.message) for f in report.findings if f.kind == kind]


def two_teams() -> tuple[Story, list[str], list[str]]:
    """A story in registration: team 1 (captain and a joiner), team 2 (its captain alone)."""
    story = Story()
    story.move("registration")
    people = [story.participant() for _ in range(3)]
    teams = [story.team(people[0], people[1]), story.team(people[2])]
    return story, people, teams


# --------------------------------------------------------------------------------------------
# Membership
# --------------------------------------------------------------------------------------------


def test_a_captain_enrolled_without_conflicts_who_judges_their_own_team_is_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    story, people, teams = two_teams()
    captain = people[0]
    story.enrol(captain, [])  # declares nothing
    story.move("hacking")
    submission = story.submit(teams[0], captain)
    story.move("judging")
    assigned, scored = story.judge(submission, teams[0], captain)

    report = story.report()
    member = f"judge {captain} is or was a member of team {teams[0]}"
    assert findings(report, "conflicted-judge") == [(assigned, member), (scored, member)]
    assert report.kinds() == {"conflicted-judge"}, render(report)
    assert member in render(report)

    export = tmp_path / "log.jsonl"
    with export.open("w") as out:
        write_jsonl(story.log.records(), out)
    assert main(["audit", "verify", "--from", str(export), "--no-signatures", "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["clean"] is False
    assert [f["check"] for f in answer["findings"]] == ["rule", "rule"]


def test_a_member_who_left_still_may_not_judge_the_team_they_left() -> None:
    story, people, teams = two_teams()
    former = people[1]
    story.leave(teams[0], former)
    story.enrol(former, [])
    story.move("hacking")
    submission = story.submit(teams[0], people[0])
    story.move("judging")
    assigned, scored = story.judge(submission, teams[0], former)

    report = story.report()
    member = f"judge {former} is or was a member of team {teams[0]}"
    assert findings(report, "conflicted-judge") == [(assigned, member), (scored, member)]
    assert report.kinds() == {"conflicted-judge"}, render(report)


def test_a_member_of_one_team_judging_another_team_is_clean() -> None:
    story, people, teams = two_teams()
    story.enrol(people[0], [])  # team 1's captain judges team 2
    story.move("hacking")
    submission = story.submit(teams[1], people[2])
    story.move("judging")
    story.judge(submission, teams[1], people[0])

    report = story.report()
    assert report.clean, render(report)


def test_a_declared_conflict_with_the_judges_own_team_is_one_finding_naming_both() -> None:
    story, people, teams = two_teams()
    story.enrol(people[2], [teams[1]])  # team 2's captain declares it
    story.move("hacking")
    submission = story.submit(teams[1], people[2])
    story.move("judging")
    assigned, _scored = story.judge(submission, teams[1], people[2])

    report = story.report()
    assert report.kinds() == {"conflicted-judge"}, render(report)
    [(event_id, message), _score] = findings(report, "conflicted-judge")
    assert event_id == assigned
    assert message == (
        f"judge {people[2]} declared a conflict with team {teams[1]}; "
        f"judge {people[2]} is or was a member of team {teams[1]}"
    )


# --------------------------------------------------------------------------------------------
# JudgeConflictsChanged
# --------------------------------------------------------------------------------------------


TEAM_1 = "team_1"  # the first team a story forms


def judged_by(declared: list[str], changed_to: list[str] | None) -> tuple[Story, str, str]:
    """An outsider judge enrolled declaring ``declared``, whose conflicts the organizer
    changes to ``changed_to`` in hacking (None: no change), then assigned team 1, scoring
    it. Returns the story, the assignment's event id and team 1's id."""
    story, people, teams = two_teams()
    judge = story.account(["participant"])
    story.enrol(judge, declared)
    story.move("hacking")
    submission = story.submit(teams[0], people[0])
    if changed_to is not None:
        story.change(judge, changed_to)
    story.move("judging")
    assigned, _scored = story.judge(submission, teams[0], judge)
    return story, assigned, teams[0]


def judge_of(story: Story) -> str:
    [judge] = {e.payload.judge_id for e in story.enrolments}
    return judge


def test_a_conflict_removed_by_the_organizer_before_judging_no_longer_counts() -> None:
    story, _assigned, team = judged_by([TEAM_1], [])
    assert team == TEAM_1
    report = story.report()
    assert report.clean, render(report)
    # The same log without the change has the conflict: it is the change that lifted it.
    before, assigned, _team = judged_by([TEAM_1], None)
    [first, _score] = findings(before.report(), "conflicted-judge")
    assert first == (assigned, f"judge {judge_of(before)} declared a conflict with team {TEAM_1}")


def test_a_conflict_added_by_the_organizer_before_judging_counts_from_then_on() -> None:
    story, assigned, team = judged_by([], [TEAM_1])
    assert team == TEAM_1
    report = story.report()
    assert report.kinds() == {"conflicted-judge"}, render(report)
    [first, _score] = findings(report, "conflicted-judge")
    assert first == (assigned, f"judge {judge_of(story)} declared a conflict with team {TEAM_1}")


def test_a_change_made_in_judging_is_found() -> None:
    story, _people, teams = two_teams()
    judge = story.account(["participant"])
    story.enrol(judge, [])
    story.move("judging")
    late = story.change(judge, [teams[1]])

    report = story.report()
    assert report.kinds() == {"conflicts-change-outside-phase"}, render(report)
    [finding] = report.findings
    assert finding.check == "rule" and finding.event.event_id == late["event_id"]
    assert finding.message == (
        f"judge {judge}'s declared conflicts changed in phase judging; "
        "they change before judging only"
    )
    assert finding.related is not None and finding.related.type == "HackathonPhaseChanged"


def test_a_change_made_by_someone_who_is_not_an_organizer_is_found() -> None:
    story, people, teams = two_teams()
    judge = story.account(["participant"])
    story.enrol(judge, [])
    change = story.change(judge, [teams[0]], by=people[1])

    report = story.report()
    assert report.kinds() == {"not-organizer"}, render(report)
    assert findings(report, "not-organizer") == [
        (change["event_id"], f"judge conflicts changed by {people[1]}, not an organizer")
    ]


def test_a_change_for_a_judge_never_enrolled_is_found() -> None:
    story, _people, teams = two_teams()
    stranger = story.account(["participant"])
    change = story.change(stranger, [teams[0]])

    report = story.report()
    assert report.kinds() == {"unknown-reference"}, render(report)
    assert findings(report, "unknown-reference") == [
        (
            change["event_id"],
            f"refers to judge of hck_conflicts {stranger}, which no event in the log announced",
        )
    ]


def test_a_change_before_the_judge_was_enrolled_is_found() -> None:
    story, _people, teams = two_teams()
    judge = story.account(["participant"])
    change = story.change(judge, [teams[0]])
    story.enrol(judge, [])

    report = story.report()
    assert report.kinds() == {"unknown-reference"}, render(report)
    [(event_id, message)] = findings(report, "unknown-reference")
    assert event_id == change["event_id"]
    assert f"judge {judge} of hck_conflicts, enrolled only at #" in message


# --------------------------------------------------------------------------------------------
# The sample, and every catalogue event
# --------------------------------------------------------------------------------------------


def test_the_sample_with_a_conflicts_change_verifies_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = LogBuilder(prefix="sample.")
    judged_hackathon(log, conflicts_changed=True)
    report = verify(log.records())
    assert report.clean, render(report)

    sample = tmp_path / "sample.jsonl"
    assert main(["audit", "sample", "--out", str(sample), "--hackathons", "2"]) == 0
    types = [json.loads(json.loads(line)["value"])["type"] for line in sample.open()]
    assert types.count("JudgeConflictsChanged") == 2
    capsys.readouterr()
    assert main(["audit", "verify", "--from", str(sample), "--no-signatures"]) == 0
    assert "CLEAN" in capsys.readouterr().out


def test_the_audit_keeps_a_fact_of_every_catalogue_event() -> None:
    """A new event type without a fact would stop ``audit verify`` on the first such event."""
    from audit.facts import _FACT_OF

    assert set(ALL_EVENT_CLASSES) <= set(_FACT_OF), set(ALL_EVENT_CLASSES) - set(_FACT_OF)
