"""A submission's members are compared with the team as of the team event it names, replayed
in the order of the team's own chain: two registration replicas with skewed clocks can give a
team's consecutive events timestamps in the other order, and that log is still correct."""

from __future__ import annotations

from datetime import timedelta

from audit.report import render
from audit.sample import AWARDS, CRITERIA, LogBuilder
from audit.verify import Report, verify
from hackathon_shared.events.catalogue import (
    Challenge,
    HackathonCreated,
    HackathonCreatedPayload,
    Rubric,
    SubmissionReceived,
    SubmissionReceivedPayload,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamRegistered,
    TeamRegisteredPayload,
)

HACKATHON = "hck_skew"
TEAM = "team_skew"
CHALLENGE = "chl_skew"


def skewed_log(members: list[str], team_sequence: int) -> Report:
    """A team formed by acc_a, then joined by acc_b (team event 2) and acc_c (team event 3),
    whose timestamps say acc_c came first; then a submission naming ``members`` as of
    ``team_sequence``."""
    log = LogBuilder(prefix="skew.")
    start = log.now
    log.add(
        HackathonCreated,
        HackathonCreatedPayload(
            hackathon_id=HACKATHON,
            name="Skewed clocks",
            challenges=[Challenge(challenge_id=CHALLENGE, title="Water")],
            min_team_size=1,
            max_team_size=3,
            max_teams=10,
            submission_deadline=start + timedelta(days=2),
            rubric=Rubric(criteria=CRITERIA),
            judges_per_submission=1,
            awards=AWARDS,
            created_by="acc_boss",
        ),
        aggregate_id=HACKATHON,
    )
    log.add(
        TeamRegistered,
        TeamRegisteredPayload(
            team_id=TEAM,
            hackathon_id=HACKATHON,
            name="Otters",
            challenge_id=CHALLENGE,
            captain_id="acc_a",
            members=["acc_a"],
        ),
        aggregate_id=TEAM,
        occurred_at=start + timedelta(seconds=10),
    )
    for account, seconds in (("acc_b", 12), ("acc_c", 11)):  # event 2 stamped after event 3
        log.add(
            TeamMemberJoined,
            TeamMemberJoinedPayload(team_id=TEAM, hackathon_id=HACKATHON, account_id=account),
            aggregate_id=TEAM,
            occurred_at=start + timedelta(seconds=seconds),
        )
    log.add(
        SubmissionReceived,
        SubmissionReceivedPayload(
            submission_id="sub_skew",
            hackathon_id=HACKATHON,
            team_id=TEAM,
            challenge_id=CHALLENGE,
            version=1,
            title="Water map",
            summary="Sensors",
            kind="technology",
            submitted_by="acc_a",
            first_submitted_at=start + timedelta(seconds=20),
            members=members,
            team_sequence=team_sequence,
        ),
        aggregate_id="sub_skew",
        occurred_at=start + timedelta(seconds=20),
    )
    return verify(log.records())


def test_members_as_of_each_team_event_follow_the_chain_not_the_clock() -> None:
    for members, team_sequence in (
        (["acc_a"], 1),
        (["acc_a", "acc_b"], 2),
        (["acc_a", "acc_b", "acc_c"], 3),
    ):
        report = skewed_log(members, team_sequence)
        assert "submission-members" not in report.kinds(), render(report)


def test_members_that_do_not_match_the_named_team_event_are_found_on_that_log() -> None:
    # As a replay in timestamp order would have it: acc_c's join before acc_b's.
    report = skewed_log(["acc_a", "acc_c"], 2)
    assert "submission-members" in report.kinds(), render(report)
