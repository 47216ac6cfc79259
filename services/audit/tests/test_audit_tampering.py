"""``audit verify`` on an exported log: a clean one passes, and each kind of tampering applied
to the export file is found and named, with the record that shows it.

The export holds two hackathons: the first as logs written before decisions named the
positions they were taken on (no ``seen``; submissions name the team's members and
``team_sequence``), the second as the services write it now (``seen`` on every decision)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

import pytest
from pydantic import BaseModel

from audit.log import read_jsonl, write_jsonl
from audit.report import render
from audit.sample import JudgedHackathon, LogBuilder, judged_hackathon
from audit.verify import Report, verify
from hackathon_cli.main import main
from hackathon_shared.events.catalogue import (
    HackathonPhaseChanged,
    JudgeAssigned,
    JudgeAssignedPayload,
    JudgeEnrolled,
    JudgeEnrolledPayload,
    Producer,
    ResultsPublished,
    ScoreSubmitted,
    ScoreSubmittedPayload,
    SeenFact,
    SubmissionReceived,
    SubmissionReceivedPayload,
    SubmissionWithdrawn,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamRegistered,
    TeamRegisteredPayload,
    TeamWithdrawn,
    decode_event,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, canonical_json, seal

Line = dict[str, Any]


class Export:
    """An export file and the edits a tamperer makes to it."""

    def __init__(self, path: Path, hackathon: JudgedHackathon, positioned: JudgedHackathon) -> None:
        self.path = path
        self.hackathon = hackathon  # without ``seen``
        self.positioned = positioned  # with ``seen``
        self.lines: list[Line] = [json.loads(t) for t in path.read_text().splitlines()]

    def save(self) -> None:
        self.path.write_text("".join(json.dumps(line) + "\n" for line in self.lines))

    def event(self, line: Line) -> Envelope:
        return decode_event(line["value"])

    def index(self, match: Callable[[Envelope], bool], nth: int = 0) -> int:
        found = [i for i, line in enumerate(self.lines) if match(self.event(line))]
        return found[nth]

    def append(self, cls: type[Envelope], payload: BaseModel, aggregate_id: str, **kw: Any) -> Line:
        """Seal an event as the next link of its aggregate's chain and append it to the end
        of the aggregate's partition, as a forger who knows the format would."""
        chain = [
            line
            for line in self.lines
            if line["key"] == aggregate_id and self.event(line).type in _same_topic(cls)
        ]
        last = max((self.event(line) for line in chain), key=lambda e: e.sequence)
        place = chain[0]
        event = seal(
            cls,
            payload=payload,
            aggregate_id=aggregate_id,
            sequence=last.sequence + 1,
            prev_hash=last.hash,
            **kw,
        )
        offset = 1 + max(
            line["offset"]
            for line in self.lines
            if (line["topic"], line["partition"]) == (place["topic"], place["partition"])
        )
        line = {**place, "offset": offset, "value": event.to_json()}
        self.lines.append(line)
        return line


def _same_topic(cls: type[Envelope]) -> set[str]:
    return {
        "registration": {
            "HackathonCreated",
            "HackathonPhaseChanged",
            "ParticipantRegistered",
            "JudgeEnrolled",
            "TeamRegistered",
            "TeamMemberJoined",
            "TeamMemberLeft",
            "TeamWithdrawn",
        },
        "submissions": {"SubmissionReceived", "SubmissionWithdrawn"},
        "scoring": {"JudgeAssigned", "ScoreSubmitted", "ResultsPublished"},
    }[cls.PRODUCER]


@pytest.fixture
def export(tmp_path: Path) -> Export:
    log = LogBuilder(prefix="audit-test.")
    hackathon = judged_hackathon(log, positions=False)
    positioned = judged_hackathon(log, normalization="zscore", organizer=hackathon.organizer)
    path = tmp_path / "log.jsonl"
    with path.open("w") as out:
        write_jsonl(log.records(), out)
    return Export(path, hackathon, positioned)


def audit(export: Export) -> Report:
    export.save()
    return verify(read_jsonl(export.path), source=str(export.path))


def only(report: Report, kind: str, line: Line) -> None:
    """The report has findings of ``kind`` only, and the first names ``line``'s record."""
    assert report.kinds() == {kind}, render(report)
    finding = report.findings[0]
    assert (finding.event.topic, finding.event.partition, finding.event.offset) == (
        line["topic"],
        line["partition"],
        line["offset"],
    )
    text = render(report)
    assert kind in text and f"{line['topic']}[{line['partition']}]@{line['offset']}" in text
    assert report.clean is False


def test_a_clean_log_passes(export: Export) -> None:
    report = audit(export)
    assert report.clean, render(report)
    assert report.records == len(export.lines)
    assert report.events == len(export.lines)
    assert len(report.results) == 2 and all(r.matches for r in report.results)
    assert "CLEAN" in render(report)


def test_an_edited_payload_is_found(export: Export) -> None:
    at = export.index(lambda e: isinstance(e, SubmissionReceived))
    line = export.lines[at]
    received = export.event(line)
    assert isinstance(received, SubmissionReceived)
    title = received.payload.title
    line["value"] = line["value"].replace(f'"{title}"', '"A better title"')
    assert "A better title" in line["value"]
    only(audit(export), "hash-mismatch", line)


def test_a_deleted_event_is_found(export: Export) -> None:
    rescored = export.index(lambda e: isinstance(e, ScoreSubmitted) and e.payload.revision == 2)
    first = export.index(
        lambda e: (
            isinstance(e, ScoreSubmitted)
            and e.aggregate_id == export.event(export.lines[rescored]).aggregate_id
        )
    )
    deleted = export.event(export.lines.pop(first))  # revision 1 of a judge who scored again
    following = export.index(
        lambda e: e.aggregate_id == deleted.aggregate_id and e.sequence == deleted.sequence + 1
    )
    only(audit(export), "missing-sequence", export.lines[following])  # it shows the hole


def test_two_swapped_events_are_found(export: Export) -> None:
    first = export.index(lambda e: isinstance(e, TeamMemberJoined))
    team = export.event(export.lines[first]).aggregate_id
    registered = export.index(lambda e: e.type == "TeamRegistered" and e.aggregate_id == team)
    a, b = export.lines[registered], export.lines[first]
    a["value"], b["value"] = b["value"], a["value"]  # positions stay, contents change places
    only(audit(export), "reordered", b)  # sequence 1 now comes after sequence 2


def test_an_identical_copy_where_its_producer_puts_it_is_a_note_not_a_finding(
    export: Export,
) -> None:
    # As a relay that crashed between publishing and marking leaves it, or an outbox
    # published again: the same record, later on the same partition.
    original = export.lines[export.index(lambda e: isinstance(e, ScoreSubmitted))]
    copy = {**original, "offset": 10_000}
    export.lines.append(copy)
    report = audit(export)
    assert report.clean, render(report)
    [note] = report.notes
    assert (note.kind, note.event.offset) == ("redelivered", 10_000)
    assert note.related is not None and note.related.offset == original["offset"]
    assert "Notes (1, not findings): redelivered 1" in render(report)


def test_a_different_event_under_a_used_id_is_found(export: Export) -> None:
    original = export.lines[export.index(lambda e: isinstance(e, ScoreSubmitted))]
    value = json.loads(original["value"])
    value["payload"]["comment"] = "another comment"
    copy = {**original, "offset": 10_000, "value": canonical_json(value)}
    export.lines.append(copy)
    report = audit(export)
    assert "duplicate-event" in report.kinds()
    [finding] = [f for f in report.findings if f.kind == "duplicate-event"]
    assert finding.message == "an event_id already used by a different event"
    assert report.notes == []


def test_an_identical_copy_on_another_partition_is_found(export: Export) -> None:
    original = export.lines[export.index(lambda e: isinstance(e, ScoreSubmitted))]
    copy = {**original, "partition": (original["partition"] + 1) % 3, "offset": 10_000}
    export.lines.append(copy)
    report = audit(export)
    only(report, "duplicate-event", copy)
    assert report.findings[0].related is not None
    assert report.findings[0].related.offset == original["offset"]


def test_a_forged_score_by_an_unassigned_judge_is_found(export: Export) -> None:
    h = export.hackathon
    submission = h.submissions[h.teams[2]]
    outsider = next(j for j in h.judges if j not in h.assignments[submission])
    forged = export.append(
        ScoreSubmitted,
        ScoreSubmittedPayload(
            hackathon_id=h.hackathon_id,
            submission_id=submission,
            judge_id=outsider,
            scores={"impact": 10.0, "feasibility": 10.0},
            total=10.0,
            revision=1,
        ),
        submission,
        occurred_at=h.results.occurred_at - timedelta(milliseconds=500),  # during judging
    )
    # The forged score is left out of the recomputation, so only the score itself is named.
    only(audit(export), "score-by-unassigned-judge", forged)


def test_a_score_after_judging_closed_is_found(export: Export) -> None:
    h = export.hackathon
    submission, panel = next(iter(h.assignments.items()))
    revisions = [
        e.payload.revision
        for e in map(export.event, export.lines)
        if isinstance(e, ScoreSubmitted)
        and e.aggregate_id == submission
        and e.payload.judge_id == panel[0]
    ]
    late = export.append(
        ScoreSubmitted,
        ScoreSubmittedPayload(
            hackathon_id=h.hackathon_id,
            submission_id=submission,
            judge_id=panel[0],
            scores={"impact": 1.0, "feasibility": 1.0},
            total=1.0,
            revision=max(revisions) + 1,
        ),
        submission,
        occurred_at=h.results.occurred_at + timedelta(hours=1),
    )
    only(audit(export), "score-outside-judging", late)


def test_results_whose_ranking_differs_from_the_recomputation_are_found(export: Export) -> None:
    published = export.hackathon.results
    at = export.index(lambda e: e.event_id == published.event_id)
    entries = published.payload.entries
    swapped = [
        entries[1].model_copy(update={"rank": 1}),
        entries[0].model_copy(update={"rank": 2}),
        *entries[2:],
    ]
    # Re-sealed by someone who can compute hashes: the chain is intact, the ranking is not.
    resealed = seal(
        ResultsPublished,
        payload=published.payload.model_copy(update={"entries": swapped}),
        aggregate_id=published.aggregate_id,
        sequence=published.sequence,
        prev_hash=published.prev_hash,
        event_id=published.event_id,
        occurred_at=published.occurred_at,
        correlation_id=published.correlation_id,
    )
    export.lines[at]["value"] = resealed.to_json()
    report = audit(export)
    only(report, "ranking-differs", export.lines[at])
    assert "rank 1" in report.findings[0].message
    assert [r.matches for r in report.results].count(False) == 1


def test_a_score_by_a_conflicted_judge_and_a_late_submission_are_found(export: Export) -> None:
    h = export.hackathon
    conflicted = h.judges[0]  # declared a conflict with team 0
    submission = h.submissions[h.teams[0]]
    received = export.event(export.lines[export.index(lambda e: isinstance(e, SubmissionReceived))])
    assert isinstance(received, SubmissionReceived)
    export.append(
        ScoreSubmitted,
        ScoreSubmittedPayload(
            hackathon_id=h.hackathon_id,
            submission_id=submission,
            judge_id=conflicted,
            scores={"impact": 5.0, "feasibility": 5.0},
            total=5.0,
            revision=1,
        ),
        submission,
    )
    late_version = received.payload.model_copy(update={"version": 3, "title": "After hours"})
    assert isinstance(late_version, SubmissionReceivedPayload)
    export.append(
        SubmissionReceived,
        late_version,
        received.aggregate_id,
        occurred_at=received.occurred_at + timedelta(days=30),
    )
    kinds = audit(export).kinds()
    assert {"conflicted-judge", "score-by-unassigned-judge", "submission-after-deadline"} <= kinds


def test_a_submission_naming_other_members_than_the_team_had_is_found(export: Export) -> None:
    h = export.hackathon
    team = h.teams[0]
    last = export.event(
        export.lines[
            export.index(
                lambda e: isinstance(e, SubmissionReceived) and e.payload.team_id == team, nth=1
            )
        ]
    )
    assert isinstance(last, SubmissionReceived)
    assert last.payload.version == 2 and last.payload.team_sequence is not None
    outsider = h.teams[1]  # any id that is not one of the team's members
    version = last.payload.model_copy(
        update={"version": 3, "members": [*last.payload.members, outsider]}
    )
    assert isinstance(version, SubmissionReceivedPayload)
    line = export.append(
        SubmissionReceived,
        version,
        last.aggregate_id,
        occurred_at=last.occurred_at + timedelta(milliseconds=1),
    )
    only(audit(export), "submission-members", line)


def test_a_submission_naming_a_team_event_not_in_the_log_is_found(export: Export) -> None:
    h = export.hackathon
    received = export.event(
        export.lines[
            export.index(
                lambda e: isinstance(e, SubmissionReceived) and e.payload.team_id == h.teams[0],
                nth=1,
            )
        ]
    )
    assert isinstance(received, SubmissionReceived)
    version = received.payload.model_copy(update={"version": 3, "team_sequence": 99})
    assert isinstance(version, SubmissionReceivedPayload)
    line = export.append(
        SubmissionReceived,
        version,
        received.aggregate_id,
        occurred_at=received.occurred_at + timedelta(milliseconds=1),
    )
    only(audit(export), "submission-members", line)


def test_a_team_over_its_size_is_found(export: Export) -> None:
    h = export.hackathon
    team = h.teams[0]  # two members, at most three
    joined = export.event(export.lines[export.index(lambda e: isinstance(e, TeamMemberJoined))])
    registered = [
        e.payload.account_id
        for e in map(export.event, export.lines)
        if e.type == "ParticipantRegistered" and e.payload.hackathon_id == h.hackathon_id
    ]
    for account in registered[2:4]:
        export.append(
            TeamMemberJoined,
            TeamMemberJoinedPayload(team_id=team, hackathon_id=h.hackathon_id, account_id=account),
            team,
            occurred_at=joined.occurred_at + timedelta(milliseconds=10),
        )
    report = audit(export)
    assert "team-over-size" in report.kinds(), render(report)
    assert "member-in-two-teams" in report.kinds()  # they were in other teams


def test_a_team_beyond_the_hackathons_capacity_is_found(export: Export) -> None:
    h = export.hackathon
    # This hackathon's (the export holds two, in an order the partitions decide).
    created = export.event(
        export.lines[
            export.index(
                lambda e: e.type == "HackathonCreated" and e.aggregate_id == h.hackathon_id
            )
        ]
    )
    first_team = export.lines[
        export.index(
            lambda e: isinstance(e, TeamRegistered) and e.payload.hackathon_id == h.hackathon_id
        )
    ]
    formed = export.event(first_team)
    registered = [
        e.payload.account_id
        for e in map(export.event, export.lines)
        if e.type == "ParticipantRegistered" and e.payload.hackathon_id == h.hackathon_id
    ]
    # Forged right after the first team formed, while the sample's four teams all take part
    # (one withdraws later).
    room = created.payload.max_teams - 4
    for n in range(room + 1):
        team_id = f"team_forged_{n}"
        event = seal(
            TeamRegistered,
            payload=TeamRegisteredPayload(
                team_id=team_id,
                hackathon_id=h.hackathon_id,
                name=f"Forged {n}",
                challenge_id=formed.payload.challenge_id,
                captain_id=registered[0],
                members=[registered[0]],
            ),
            aggregate_id=team_id,
            sequence=1,
            prev_hash=GENESIS_HASH,
            occurred_at=formed.occurred_at + timedelta(seconds=1 + n),
        )
        offset = 1 + max(
            line["offset"]
            for line in export.lines
            if (line["topic"], line["partition"]) == (first_team["topic"], first_team["partition"])
        )
        export.lines.append(
            {**first_team, "offset": offset, "key": team_id, "value": event.to_json()}
        )
    report = audit(export)
    over = [f for f in report.findings if f.kind == "hackathon-over-capacity"]
    assert len(over) == 1, render(report)  # only the one team beyond the last free place
    assert f"at most {created.payload.max_teams}" in over[0].message


def test_a_record_that_is_not_an_event_is_found(export: Export) -> None:
    joined = export.event(export.lines[export.index(lambda e: isinstance(e, TeamMemberJoined))])
    at = export.index(lambda e: e.aggregate_id == joined.aggregate_id and e.sequence == 1)
    line = export.lines[at]
    line["value"] = '{"type": "TeamRegistered", "version": 1}'
    report = audit(export)
    [invalid] = [f for f in report.findings if f.kind == "invalid-event"]
    assert (invalid.event.partition, invalid.event.offset) == (line["partition"], line["offset"])
    assert "TeamRegistered v1 event" in invalid.message
    assert "missing-sequence" in report.kinds()  # its aggregate lost a link


def test_the_command_line_exit_status_and_json(
    export: Export, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["audit", "verify", "--from", str(export.path), "--no-progress", "--no-signatures"])
        == 0
    )
    assert "CLEAN" in capsys.readouterr().out
    first = export.lines[0]
    export.lines.append({**first, "partition": (first["partition"] + 1) % 3, "offset": 99_999})
    export.save()
    assert main(["audit", "verify", "--from", str(export.path), "--json", "--no-signatures"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["clean"] is False
    [finding] = body["findings"]
    assert finding["kind"] == "duplicate-event"
    assert finding["event"]["offset"] == 99_999 and finding["event"]["event_id"]
    assert (
        main(["audit", "verify", "--from", str(tmp_path / "missing.jsonl"), "--no-signatures"]) == 2
    )
    (tmp_path / "broken.jsonl").write_text("not json\n")
    # Without keys and without --no-signatures, it does not run: nothing would show who wrote
    # the events.
    assert main(["audit", "verify", "--from", str(export.path)]) == 2
    assert (
        main(["audit", "verify", "--from", str(tmp_path / "broken.jsonl"), "--no-signatures"]) == 2
    )
    assert "line 1" in capsys.readouterr().err


def test_scoped_to_one_hackathon(export: Export) -> None:
    export.save()
    records = read_jsonl(export.path)
    whole = verify(records)
    scoped = verify(records, hackathons=[export.hackathon.hackathon_id])
    assert whole.clean and scoped.clean
    assert [r.hackathon_id for r in scoped.results] == [export.hackathon.hackathon_id]
    assert scoped.events < whole.events
    assert verify(records, hackathons=["hck_nobody"]).kinds() == {"unknown-hackathon"}


# --------------------------------------------------------------------------------------------
# Decisions replayed at the positions they name (``seen``)
# --------------------------------------------------------------------------------------------

Decision: TypeAlias = (
    SubmissionReceived | SubmissionWithdrawn | JudgeAssigned | ScoreSubmitted | ResultsPublished
)
DECISIONS = (
    SubmissionReceived,
    SubmissionWithdrawn,
    JudgeAssigned,
    ScoreSubmitted,
    ResultsPublished,
)


def decisions_of(export: Export, hackathon_id: str) -> list[Decision]:
    """The hackathon's decisions that name positions (when written since ``seen`` exists)."""
    return [
        e
        for e in map(export.event, export.lines)
        if isinstance(e, Decision) and e.payload.hackathon_id == hackathon_id
    ]


def fact(producer: Producer, aggregate_id: str, sequence: int) -> SeenFact:
    return SeenFact(producer=producer, aggregate_id=aggregate_id, sequence=sequence)


def events(export: Export, match: Callable[[Envelope], bool]) -> list[Envelope]:
    return [e for e in map(export.event, export.lines) if match(e)]


def latest_version(export: Export, team_id: str) -> SubmissionReceived:
    """The team's last version in the export (as appended so far)."""
    versions = events(
        export, lambda e: isinstance(e, SubmissionReceived) and e.payload.team_id == team_id
    )
    last = max(versions, key=lambda e: e.sequence)
    assert isinstance(last, SubmissionReceived)
    return last


def phase_change(export: Export, hackathon_id: str, to_phase: str) -> HackathonPhaseChanged:
    [changed] = events(
        export,
        lambda e: (
            isinstance(e, HackathonPhaseChanged)
            and e.aggregate_id == hackathon_id
            and e.payload.to_phase == to_phase
        ),
    )
    assert isinstance(changed, HackathonPhaseChanged)
    return changed


def new_version(
    export: Export,
    last: SubmissionReceived,
    seen: list[SeenFact],
    occurred_at: datetime | None = None,
) -> Line:
    """The team's next version after ``last``, sealed into its chain, naming ``seen``;
    received 1 ms after ``last`` unless ``occurred_at`` says otherwise."""
    payload = last.payload.model_copy(
        update={
            "version": last.payload.version + 1,
            "title": f"Proposal v{last.payload.version + 1}",
            "seen": seen,
        }
    )
    assert isinstance(payload, SubmissionReceivedPayload)
    return export.append(
        SubmissionReceived,
        payload,
        last.aggregate_id,
        occurred_at=occurred_at or last.occurred_at + timedelta(milliseconds=1),
    )


def related_is(report: Report, event: Envelope) -> None:
    related = report.findings[0].related
    assert related is not None, render(report)
    assert related.event_id == str(event.event_id), render(report)


def test_decisions_name_their_positions_and_the_log_is_clean(export: Export) -> None:
    h = export.positioned
    named = decisions_of(export, h.hackathon_id)
    assert {type(e) for e in named} == set(DECISIONS)
    assert all(e.payload.seen for e in named)
    received = [e for e in named if isinstance(e, SubmissionReceived)]
    assert all(not e.payload.members and e.payload.team_sequence is None for e in received)
    older = decisions_of(export, export.hackathon.hackathon_id)
    assert older and not any(e.payload.seen for e in older)
    report = audit(export)
    assert report.clean, render(report)
    assert [r.matches for r in report.results] == [True, True]


def test_a_submission_accepted_at_a_position_after_hacking_closed_is_found(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    h = export.positioned
    last = latest_version(export, h.teams[0])
    closed = phase_change(export, h.hackathon_id, "judging")
    team_fact = next(f for f in last.payload.seen if f.aggregate_id == h.teams[0])
    # Accepted after the move to judging, by a service that had read that move.
    line = new_version(
        export,
        last,
        [fact("registration", h.hackathon_id, closed.sequence), team_fact],
        occurred_at=closed.occurred_at + timedelta(milliseconds=1),
    )
    report = audit(export)
    # One finding: the replay at its own position (not also submission-outside-hacking).
    only(report, "decided-on-forbidden-state", line)
    [finding] = report.findings
    assert f"registration/{h.hackathon_id} #{closed.sequence}" in finding.message
    assert "phase judging" in finding.message
    related_is(report, closed)  # the move out of hacking
    assert f"see {finding.related.text() if finding.related else ''}" in render(report)

    assert main(["audit", "verify", "--from", str(export.path), "--json", "--no-signatures"]) == 1
    [as_json] = json.loads(capsys.readouterr().out)["findings"]
    assert as_json["kind"] == "decided-on-forbidden-state" and as_json["check"] == "rule"
    assert as_json["event"]["event_id"] == json.loads(line["value"])["event_id"]
    assert as_json["related"]["event_id"] == str(closed.event_id)


def test_a_submission_by_a_non_member_at_the_named_team_position_is_found(
    export: Export,
) -> None:
    h = export.positioned
    team = h.teams[0]  # #1 formed by its captain, #2 joined by the second member
    last = latest_version(export, team)
    joiner = last.payload.submitted_by  # version 2 is the joiner's
    hackathon_fact = next(f for f in last.payload.seen if f.aggregate_id == h.hackathon_id)
    formed = events(export, lambda e: e.aggregate_id == team and e.sequence == 1)[0]
    assert isinstance(formed, TeamRegistered) and joiner not in formed.payload.members
    # A member by the clock, but not at the team event the decision names.
    line = new_version(export, last, [hackathon_fact, fact("registration", team, 1)])
    report = audit(export)
    only(report, "decided-on-forbidden-state", line)
    assert f"{joiner} was not a member of team {team}" in report.findings[0].message
    related_is(report, formed)


def test_a_submission_for_a_team_withdrawn_at_the_named_position_is_found(
    export: Export,
) -> None:
    h = export.positioned
    gone = h.teams[3]  # #2 its last member left, #3 it withdrew
    last = latest_version(export, gone)
    withdrawn = events(export, lambda e: isinstance(e, TeamWithdrawn) and e.aggregate_id == gone)[0]
    hackathon_fact = next(f for f in last.payload.seen if f.aggregate_id == h.hackathon_id)
    line = new_version(
        export,
        last,
        [hackathon_fact, fact("registration", gone, withdrawn.sequence)],
        occurred_at=withdrawn.occurred_at + timedelta(milliseconds=1),
    )
    report = audit(export)
    # One finding for the position, naming every rule it breaks there (the clock's
    # submission-by-non-member and team-under-size are not repeated).
    only(report, "decided-on-forbidden-state", line)
    message = report.findings[0].message
    assert f"team {gone} had withdrawn" in message
    assert "was not a member" in message and "at least 1 are needed" in message
    related_is(report, withdrawn)


def test_positions_not_in_the_log_are_found(export: Export) -> None:
    h = export.positioned
    team = h.teams[0]
    last = latest_version(export, team)
    hackathon_fact = next(f for f in last.payload.seen if f.aggregate_id == h.hackathon_id)
    beyond = new_version(export, last, [hackathon_fact, fact("registration", team, 99)])
    never = new_version(
        export, latest_version(export, team), [hackathon_fact, fact("registration", "team_x", 1)]
    )
    own = latest_version(export, team)
    itself = new_version(
        export, own, [hackathon_fact, fact("submissions", own.aggregate_id, own.sequence + 1)]
    )
    report = audit(export)
    assert report.kinds() == {"seen-unknown-position"}, render(report)
    found = {(f.event.partition, f.event.offset): f for f in report.findings}
    assert len(found) == len(report.findings) == 3
    [on_beyond, on_never, on_itself] = (
        found[(line["partition"], line["offset"])] for line in (beyond, never, itself)
    )
    assert "up to #2" in on_beyond.message
    team_last = events(export, lambda e: e.aggregate_id == team and e.sequence == 2)[0]
    assert on_beyond.related is not None and on_beyond.related.event_id == str(team_last.event_id)
    assert (
        "registration/team_x #1, an aggregate of which the log holds no event" in on_never.message
    )
    assert "its own aggregate" in on_itself.message
    assert all(f.check == "reference" for f in report.findings)


def test_a_score_at_a_position_outside_judging_is_found(export: Export) -> None:
    h = export.positioned
    submission, panel = next(iter(h.assignments.items()))
    scored = events(
        export,
        lambda e: (
            isinstance(e, ScoreSubmitted)
            and e.aggregate_id == submission
            and e.payload.judge_id == panel[0]
        ),
    )
    last = max(scored, key=lambda e: e.sequence)
    assert isinstance(last, ScoreSubmitted)
    opened = phase_change(export, h.hackathon_id, "hacking")
    submission_fact = next(f for f in last.payload.seen if f.aggregate_id == submission)
    line = export.append(
        ScoreSubmitted,
        last.payload.model_copy(
            update={
                "revision": last.payload.revision + 1,
                "seen": [fact("registration", h.hackathon_id, opened.sequence), submission_fact],
            }
        ),
        submission,
        occurred_at=h.results.occurred_at - timedelta(milliseconds=500),  # judging, by the clock
    )
    report = audit(export)
    # Left out of the recomputation, like any score with a rule finding.
    only(report, "decided-on-forbidden-state", line)
    assert "phase hacking" in report.findings[0].message
    related_is(report, opened)
    assert all(r.matches for r in report.results)


def test_an_assignment_at_a_position_before_the_judge_enrolled_is_found(export: Export) -> None:
    h = export.positioned
    submission = h.submissions[h.teams[2]]
    outsider = next(j for j in h.judges if j not in h.assignments[submission])
    enrolled = events(
        export,
        lambda e: isinstance(e, JudgeEnrolled) and e.payload.judge_id == outsider,
    )[0]
    closed = phase_change(export, h.hackathon_id, "judging")
    line = export.append(
        JudgeAssigned,
        JudgeAssignedPayload(
            hackathon_id=h.hackathon_id,
            submission_id=submission,
            team_id=h.teams[2],
            judge_id=outsider,
            seen=[fact("registration", h.hackathon_id, enrolled.sequence - 1)],
        ),
        submission,
        occurred_at=closed.occurred_at + timedelta(milliseconds=1),
    )
    report = audit(export)
    only(report, "decided-on-forbidden-state", line)
    message = report.findings[0].message
    assert f"judge {outsider} was not enrolled yet" in message and "phase registration" in message


def test_results_published_at_a_position_outside_judging_are_found(export: Export) -> None:
    published = export.positioned.results
    at = export.index(lambda e: e.event_id == published.event_id)
    opened = phase_change(export, published.aggregate_id, "hacking")
    seen = [
        fact("registration", f.aggregate_id, opened.sequence)
        if f.aggregate_id == published.aggregate_id
        else f
        for f in published.payload.seen
    ]
    resealed = seal(
        ResultsPublished,
        payload=published.payload.model_copy(update={"seen": seen}),
        aggregate_id=published.aggregate_id,
        sequence=published.sequence,
        prev_hash=published.prev_hash,
        event_id=published.event_id,
        occurred_at=published.occurred_at,
        correlation_id=published.correlation_id,
    )
    export.lines[at]["value"] = resealed.to_json()
    report = audit(export)
    only(report, "decided-on-forbidden-state", export.lines[at])
    assert "results are published in judging" in report.findings[0].message
    assert all(r.matches for r in report.results)


def test_decisions_without_positions_are_checked_as_before(export: Export) -> None:
    h = export.positioned
    # Written before ``seen`` existed (no positions, no members): nothing to replay.
    last = latest_version(export, h.teams[0])
    new_version(export, last, [])
    report = audit(export)
    assert report.clean, render(report)
    # A decision without positions that breaks a rule gets today's finding only.
    closed = phase_change(export, h.hackathon_id, "judging")
    late = new_version(
        export,
        latest_version(export, h.teams[0]),
        [],
        occurred_at=closed.occurred_at + timedelta(milliseconds=1),
    )
    only(audit(export), "submission-outside-hacking", late)
    # And the older hackathon's decisions, without positions, are left as they were.
    older = latest_version(export, export.hackathon.teams[1])
    assert older.payload.seen == [] and older.payload.team_sequence is not None


def test_an_assignment_to_a_judge_conflicted_at_the_named_position_is_found(
    export: Export,
) -> None:
    h = export.positioned
    conflicted, team = h.judges[0], h.teams[0]  # judge 0 declared a conflict with team 0
    closed = phase_change(export, h.hackathon_id, "judging")
    # A forged second enrolment, after the results, that drops the conflict ...
    export.append(
        JudgeEnrolled,
        JudgeEnrolledPayload(hackathon_id=h.hackathon_id, judge_id=conflicted, conflicts=[]),
        h.hackathon_id,
    )
    # ... does not hide it from an assignment decided before it.
    line = export.append(
        JudgeAssigned,
        JudgeAssignedPayload(
            hackathon_id=h.hackathon_id,
            submission_id=h.submissions[team],
            team_id=team,
            judge_id=conflicted,
            seen=[fact("registration", h.hackathon_id, closed.sequence)],
        ),
        h.submissions[team],
        occurred_at=closed.occurred_at + timedelta(milliseconds=1),
    )
    only(audit(export), "conflicted-judge", line)
