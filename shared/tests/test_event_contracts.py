"""Contract tests of the event catalogue: encoding, decoding, published schemas, hash chains."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from hackathon_shared.events import catalogue as cat
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal, verify_chain
from hackathon_shared.events.schemas import (
    breaking_changes,
    check_schemas,
    default_schema_dir,
    generate_schemas,
    main,
    resolve_refs,
    schema_file_name,
    write_schemas,
)

WHEN = datetime(2025, 5, 14, 9, 30, tzinfo=UTC)


def _payloads() -> dict[type[cat.CatalogueEvent], BaseModel]:
    return {
        cat.AccountCreated: cat.AccountCreatedPayload(account_id="acc-1", roles=["participant"]),
        cat.HackathonCreated: cat.HackathonCreatedPayload(
            hackathon_id="hk-1",
            name="Digital Citizenship Hackathon",
            description="Three days, five challenges.",
            challenges=[
                cat.Challenge(challenge_id="ch-1", title="Trustworthy e-government"),
                cat.Challenge(
                    challenge_id="ch-2", title="Digital skills", description="For citizens"
                ),
            ],
            min_team_size=2,
            max_team_size=5,
            max_teams=40,
            submission_deadline=WHEN + timedelta(days=2),
            rubric=cat.Rubric(
                criteria=[
                    cat.RubricCriterion(key="impact", name="Impact", weight=2),
                    cat.RubricCriterion(key="feasibility", weight=1.5, min=0, max=5),
                ],
                normalization="zscore",
            ),
            judges_per_submission=3,
            awards=[
                cat.AwardOffered(name="Seed grant", rank=1, kind="grant", amount=5000),
                cat.AwardOffered(name="Mentorship", rank=2, kind="mentorship"),
            ],
            created_by="acc-org",
        ),
        cat.HackathonPhaseChanged: cat.HackathonPhaseChangedPayload(
            hackathon_id="hk-1", from_phase="draft", to_phase="registration", changed_by="acc-org"
        ),
        cat.ParticipantRegistered: cat.ParticipantRegisteredPayload(
            participant_id="p-1",
            account_id="acc-1",
            hackathon_id="hk-1",
            sector="civil_society",
            consent_version="2025-01",
            consented_at=WHEN,
        ),
        cat.TeamRegistered: cat.TeamRegisteredPayload(
            team_id="tm-1",
            hackathon_id="hk-1",
            name="Open Ledger",
            challenge_id="ch-1",
            captain_id="acc-1",
            members=["acc-1"],
        ),
        cat.TeamMemberJoined: cat.TeamMemberJoinedPayload(
            team_id="tm-1", hackathon_id="hk-1", account_id="acc-2"
        ),
        cat.TeamMemberLeft: cat.TeamMemberLeftPayload(
            team_id="tm-1", hackathon_id="hk-1", account_id="acc-1", new_captain_id="acc-2"
        ),
        cat.TeamWithdrawn: cat.TeamWithdrawnPayload(
            team_id="tm-1", hackathon_id="hk-1", reason="last_member_left"
        ),
        cat.JudgeEnrolled: cat.JudgeEnrolledPayload(
            hackathon_id="hk-1", judge_id="acc-j", conflicts=["tm-2"]
        ),
        cat.JudgeConflictsChanged: cat.JudgeConflictsChangedPayload(
            hackathon_id="hk-1", judge_id="acc-j", conflicts=["tm-3"], changed_by="acc-o"
        ),
        cat.AccountErased: cat.AccountErasedPayload(account_id="acc-1"),
        cat.AccountRolesChanged: cat.AccountRolesChangedPayload(
            account_id="acc-1", roles=["participant", "organizer"], changed_by="system"
        ),
        cat.SubmissionReceived: cat.SubmissionReceivedPayload(
            submission_id="sb-1",
            hackathon_id="hk-1",
            team_id="tm-1",
            challenge_id="ch-1",
            version=2,
            title="Verifiable permits",
            summary="Municipal permits anyone can verify.",
            kind="technology",
            repo_url="https://example.org/repo",
            demo_url=None,
            submitted_by="acc-2",
            first_submitted_at=WHEN,
        ),
        cat.SubmissionWithdrawn: cat.SubmissionWithdrawnPayload(
            submission_id="sb-1", hackathon_id="hk-1", team_id="tm-1", reason="team_withdrawn"
        ),
        cat.JudgeAssigned: cat.JudgeAssignedPayload(
            hackathon_id="hk-1", submission_id="sb-1", team_id="tm-1", judge_id="acc-j"
        ),
        cat.ScoreSubmitted: cat.ScoreSubmittedPayload(
            hackathon_id="hk-1",
            submission_id="sb-1",
            judge_id="acc-j",
            scores={"impact": 8, "feasibility": 3.5},
            total=6.8,
            revision=1,
            comment="Solid.",
        ),
        cat.ResultsPublished: cat.ResultsPublishedPayload(
            hackathon_id="hk-1",
            entries=[
                cat.RankingEntry(rank=1, submission_id="sb-1", team_id="tm-1", score=6.8, judges=3)
            ],
            awards=[
                cat.AwardGranted(
                    name="Seed grant", kind="grant", amount=5000, rank=1, team_id="tm-1"
                ),
                cat.AwardGranted(name="Mentorship", kind="mentorship", rank=2, team_id=None),
            ],
            published_by="acc-org",
        ),
        cat.NotificationSent: cat.NotificationSentPayload(
            notification_id="n-1",
            channel="in_app",
            recipient_account_id="acc-1",
            causing_event_id=str(uuid.uuid4()),
            kind="team_registered",
        ),
        cat.NotificationFailed: cat.NotificationFailedPayload(
            notification_id="n-2",
            channel="webhook",
            recipient_account_id=None,
            causing_event_id=str(uuid.uuid4()),
            kind="results_published",
            error="HTTP 503 after 5 attempts",
        ),
    }


PAYLOADS = _payloads()
CLASSES = list(cat.ALL_EVENT_CLASSES)


def _seal(
    cls: type[cat.CatalogueEvent],
    payload: BaseModel | None = None,
    *,
    sequence: int = 1,
    prev_hash: str = GENESIS_HASH,
) -> Envelope:
    body = payload if payload is not None else PAYLOADS[cls]
    return seal(
        cls,
        payload=body,
        aggregate_id=cls.aggregate_id_from(body),
        sequence=sequence,
        prev_hash=prev_hash,
        occurred_at=WHEN,
        correlation_id="req-1",
    )


def _decode_error(data: Any) -> cat.EventDecodeError:
    with pytest.raises(cat.EventDecodeError) as info:
        cat.decode_event(data)
    return info.value


def _valid_dict(cls: type[cat.CatalogueEvent] = cat.TeamRegistered) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_seal(cls).to_json())
    return data


# --------------------------------------------------------------------------------------------
# Catalogue shape
# --------------------------------------------------------------------------------------------


def test_every_catalogue_class_has_a_sample_and_a_unique_key() -> None:
    assert set(PAYLOADS) == set(CLASSES)
    # the v1 catalogue plus AccountCreated and AccountRolesChanged
    assert len(cat.EVENT_CLASSES) == len(CLASSES) == 19
    for (event_type, version), cls in cat.EVENT_CLASSES.items():
        assert (event_type, version) == (cls.TYPE, cls.VERSION)
        assert cls.PRODUCER in ("registration", "submissions", "scoring", "notifications")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.TYPE)
def test_class_fields_are_narrowed_to_its_constants(cls: type[cat.CatalogueEvent]) -> None:
    schema = cls.model_json_schema()
    assert schema["properties"]["type"]["const"] == cls.TYPE
    assert schema["properties"]["version"]["const"] == cls.VERSION
    assert schema["properties"]["producer"]["const"] == cls.PRODUCER
    assert cls.AGGREGATE_FIELD in type(PAYLOADS[cls]).model_fields


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.TYPE)
def test_round_trip_through_canonical_json(cls: type[cat.CatalogueEvent]) -> None:
    event = _seal(cls)
    text = event.to_json()
    for data in (text, text.encode("utf-8"), json.loads(text)):
        decoded = cat.decode_event(data)
        assert type(decoded) is cls
        assert decoded == event
        assert decoded.to_json() == text
        assert decoded.computed_hash() == decoded.hash == event.hash


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.TYPE)
def test_discriminator_picks_the_class_of_type_and_version(
    cls: type[cat.CatalogueEvent],
) -> None:
    data = _valid_dict(cls)
    assert type(cat.ANY_EVENT_ADAPTER.validate_python(data)) is cls
    assert type(cat.ANY_EVENT_ADAPTER.validate_json(json.dumps(data))) is cls
    assert cat.EVENT_CLASSES[(data["type"], data["version"])] is cls


def test_unknown_payload_fields_survive_and_keep_the_hash_valid() -> None:
    # A newer producer may add optional fields (also in nested records); an older reader
    # must keep them so that the re-encoded event still matches its hash.
    payload = PAYLOADS[cat.HackathonCreated].model_dump(mode="json")
    payload["venue_id"] = "v-9"
    payload["challenges"][0]["forum_session"] = "s-3"
    event = _seal(cat.HackathonCreated, cat.HackathonCreatedPayload.model_validate(payload))
    decoded = cat.decode_event(event.to_json())
    assert decoded.to_json() == event.to_json()
    assert decoded.computed_hash() == event.hash
    assert json.loads(decoded.to_json())["payload"]["challenges"][0]["forum_session"] == "s-3"


def test_payload_timestamps_are_written_in_utc() -> None:
    local = datetime(2025, 5, 14, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    payload = PAYLOADS[cat.ParticipantRegistered].model_copy(update={"consented_at": local})
    event = _seal(cat.ParticipantRegistered, payload)
    assert json.loads(event.to_json())["payload"]["consented_at"] == "2025-05-14T09:30:00Z"
    assert cat.decode_event(event.to_json()).computed_hash() == event.hash


def test_naive_timestamps_are_rejected() -> None:
    data = _valid_dict(cat.ParticipantRegistered)
    data["payload"]["consented_at"] = "2025-05-14T09:30:00"
    assert _decode_error(data).field == "payload.consented_at"


# --------------------------------------------------------------------------------------------
# Rejections
# --------------------------------------------------------------------------------------------


def test_rejects_bytes_that_are_not_utf8() -> None:
    assert "UTF-8" in str(_decode_error(b'{"type": "\xff"}'))


@pytest.mark.parametrize("text", ["", "{", "not json", '{"type": NaN}', "{'a': 1}"])
def test_rejects_text_that_is_not_json(text: str) -> None:
    assert "not JSON" in str(_decode_error(text))


@pytest.mark.parametrize("text", ["[]", "42", '"TeamRegistered"', "null", "true"])
def test_rejects_json_that_is_not_an_object(text: str) -> None:
    assert "must be a JSON object" in str(_decode_error(text))


def test_rejects_missing_or_unknown_type() -> None:
    data = _valid_dict()
    del data["type"]
    assert _decode_error(data).field == "type"
    data["type"] = "TeamRenamed"
    error = _decode_error(data)
    assert error.field == "type"
    assert "unknown event type 'TeamRenamed'" in str(error)


def test_rejects_unknown_or_malformed_version() -> None:
    data = _valid_dict()
    data["version"] = 2
    error = _decode_error(data)
    assert error.field == "version"
    assert "unknown version 2" in str(error)
    data["version"] = "1"
    assert _decode_error(data).field == "version"
    data["version"] = True
    assert _decode_error(data).field == "version"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["payload"].pop("name"), "payload.name"),
        (lambda d: d["payload"].update(members=["acc-1", 7]), "payload.members[1]"),
        (lambda d: d["payload"].update(team_id=""), "payload.team_id"),
        (lambda d: d.update(producer="scoring"), "producer"),
        (lambda d: d.update(hash="not-a-hash"), "hash"),
        (lambda d: d.update(sequence=0), "sequence"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d.update(payload="just text"), "payload"),
    ],
)
def test_rejects_invalid_fields_naming_the_field(change: Any, field: str) -> None:
    data = _valid_dict()
    change(data)
    error = _decode_error(json.dumps(data))
    assert error.field == field
    assert field in str(error)
    assert str(error).startswith("invalid TeamRegistered v1 event")


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (cat.HackathonPhaseChanged, "to_phase", "voting"),
        (cat.ParticipantRegistered, "sector", "media"),
        (cat.SubmissionReceived, "kind", "art"),
        (cat.SubmissionReceived, "repo_url", "ftp://example.org/x"),
        (cat.ScoreSubmitted, "total", "high"),
        (cat.NotificationSent, "channel", "sms"),
    ],
)
def test_rejects_values_outside_the_contract(
    cls: type[cat.CatalogueEvent], field: str, value: Any
) -> None:
    data = _valid_dict(cls)
    data["payload"][field] = value
    assert _decode_error(data).field == f"payload.{field}"


# --------------------------------------------------------------------------------------------
# Privacy
# --------------------------------------------------------------------------------------------


def _property_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                names.update(value)
            names |= _property_names(value)
    elif isinstance(node, list):
        for item in node:
            names |= _property_names(item)
    return names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.TYPE)
def test_no_personal_data_fields_in_events(cls: type[cat.CatalogueEvent]) -> None:
    names = _property_names(resolve_refs(cls.model_json_schema()))
    assert {"email", "display_name", "password"} <= cat.PERSONAL_DATA_FIELDS
    assert not names & cat.PERSONAL_DATA_FIELDS
    assert not any("email" in name or "password" in name for name in names)


def test_contact_details_round_trip_and_tombstone() -> None:
    contact = cat.ContactDetails(
        account_id="acc-1", email="ana@example.org", display_name="Ana", updated_at=WHEN
    )
    assert cat.decode_contact(contact.to_json().encode()) == contact
    assert cat.decode_contact(None) is None
    bad = json.loads(contact.to_json())
    bad["email"] = "not an address"
    with pytest.raises(cat.EventDecodeError) as info:
        cat.decode_contact(bad)
    assert info.value.field == "email"
    with pytest.raises(cat.EventDecodeError):
        cat.decode_contact(b"[1]")


# --------------------------------------------------------------------------------------------
# Published schemas
# --------------------------------------------------------------------------------------------

SCHEMA_DIR = default_schema_dir()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.TYPE)
def test_current_model_is_compatible_with_its_published_schema(
    cls: type[cat.CatalogueEvent],
) -> None:
    path = SCHEMA_DIR / schema_file_name(cls.TYPE, cls.VERSION)
    assert path.is_file(), f"{path} missing: run python -m hackathon_shared.events.schemas"
    published = json.loads(path.read_text(encoding="utf-8"))
    current = cls.model_json_schema(mode="validation")
    assert breaking_changes(published, current) == []
    assert breaking_changes(published, current, replay=True) == []


def test_published_schema_files_are_current() -> None:
    assert check_schemas(SCHEMA_DIR) == [], "run python -m hackathon_shared.events.schemas"


def test_schema_command_writes_checks_and_refuses_breaking_overwrites(tmp_path: Path) -> None:
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    write_schemas(tmp_path)
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    path = tmp_path / schema_file_name("TeamRegistered", 1)
    published = json.loads(path.read_text(encoding="utf-8"))
    published["$defs"]["TeamRegisteredPayload"]["required"].append("slogan")
    published["$defs"]["TeamRegisteredPayload"]["properties"]["slogan"] = {"type": "string"}
    path.write_text(json.dumps(published), encoding="utf-8")
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert main(["--dir", str(tmp_path)]) == 1  # refuses: the model no longer sends "slogan"
    assert "slogan" in path.read_text(encoding="utf-8")
    assert main(["--dir", str(tmp_path), "--force"]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0


# --------------------------------------------------------------------------------------------
# breaking_changes on synthetic schemas
# --------------------------------------------------------------------------------------------


def _object(properties: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, **extra}


BASE = _object(
    {
        "team_id": {"type": "string", "title": "Team Id"},
        "size": {"type": "integer"},
        "phase": {"enum": ["registration", "hacking", "judging"], "type": "string"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    },
    ["team_id", "size", "phase"],
)


def _variant() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def test_identical_schemas_have_no_breaking_changes() -> None:
    assert breaking_changes(BASE, _variant()) == []


def test_detects_a_removed_required_field() -> None:
    new = _variant()
    del new["properties"]["size"]
    new["required"].remove("size")
    reasons = breaking_changes(BASE, new)
    assert len(reasons) == 1
    assert reasons[0].startswith("size:")


def test_detects_a_field_that_became_optional() -> None:
    new = _variant()
    new["required"].remove("team_id")
    assert [r.split(":")[0] for r in breaking_changes(BASE, new)] == ["team_id"]


def test_detects_a_changed_type() -> None:
    new = _variant()
    new["properties"]["size"] = {"type": "number"}
    reasons = breaking_changes(BASE, new)
    assert reasons == ['size: type changed from "integer" to "number"']


def test_detects_a_narrowed_and_a_widened_enum() -> None:
    narrowed = _variant()
    narrowed["properties"]["phase"]["enum"] = ["registration", "hacking"]
    assert [
        "judging" in r and r.startswith("phase:") for r in breaking_changes(BASE, narrowed)
    ] == [True]
    widened = _variant()
    widened["properties"]["phase"]["enum"].append("finished")
    assert len(breaking_changes(BASE, widened)) == 1


def test_detects_changes_inside_choices_and_constraints() -> None:
    new = _variant()
    new["properties"]["note"]["anyOf"][0]["maxLength"] = 10
    assert [r.split(":")[0] for r in breaking_changes(BASE, new)] == ["note<anyOf[0]>"]
    new = _variant()
    new["properties"]["note"]["anyOf"].append({"type": "integer"})
    assert len(breaking_changes(BASE, new)) == 1


def test_accepts_an_added_optional_field_and_documentation_changes() -> None:
    new = _variant()
    new["properties"]["slogan"] = {"type": "string", "default": ""}
    new["properties"]["team_id"]["title"] = "Team identifier"
    new["properties"]["size"]["description"] = "How many members"
    assert breaking_changes(BASE, new) == []
    assert breaking_changes(BASE, new, replay=True) == []


def test_added_required_field_breaks_only_replay_of_old_events() -> None:
    new = _variant()
    new["properties"]["slogan"] = {"type": "string"}
    new["required"].append("slogan")
    assert breaking_changes(BASE, new) == []
    assert [r.split(":")[0] for r in breaking_changes(BASE, new, replay=True)] == ["slogan"]


def test_added_field_breaks_a_closed_object() -> None:
    old = _object({"a": {"type": "string"}}, ["a"], additionalProperties=False)
    new = _object({"a": {"type": "string"}, "b": {"type": "string"}}, ["a"])
    new["additionalProperties"] = False
    assert [r.split(":")[0] for r in breaking_changes(old, new)] == ["b"]


def test_refs_are_resolved_before_comparing() -> None:
    inline = _object({"payload": _variant()}, ["payload"])
    by_ref = _object({"payload": {"$ref": "#/$defs/P"}}, ["payload"], **{"$defs": {"P": BASE}})
    assert breaking_changes(inline, by_ref) == []
    assert breaking_changes(by_ref, inline) == []
    changed = copy.deepcopy(by_ref)
    changed["$defs"]["P"]["properties"]["size"] = {"type": "string"}
    assert [r.split(":")[0] for r in breaking_changes(by_ref, changed)] == ["payload.size"]


def test_detects_breaking_changes_on_a_real_event_schema() -> None:
    published = generate_schemas()["ScoreSubmitted.v1.json"]
    current = copy.deepcopy(published)
    payload = current["$defs"]["ScoreSubmittedPayload"]
    payload["required"].remove("total")
    payload["properties"]["scores"]["additionalProperties"] = {"type": "string"}
    reasons = breaking_changes(published, current)
    assert {r.split(":")[0] for r in reasons} == {"payload.total", "payload.scores{*}"}


# --------------------------------------------------------------------------------------------
# Hashes and chains
# --------------------------------------------------------------------------------------------


def _team_chain() -> list[Envelope]:
    first = _seal(cat.TeamRegistered)
    second = _seal(cat.TeamMemberJoined, sequence=2, prev_hash=first.hash)
    third = _seal(
        cat.TeamMemberLeft,
        cat.TeamMemberLeftPayload(team_id="tm-1", hackathon_id="hk-1", account_id="acc-2"),
        sequence=3,
        prev_hash=second.hash,
    )
    return [first, second, third]


def _log() -> list[Envelope]:
    other = _seal(cat.AccountCreated)
    chain = _team_chain()
    return [chain[0], other, chain[1], chain[2]]


def _problems(events: list[Envelope]) -> list[str]:
    return [b.problem for b in verify_chain(events)]


def test_sealed_events_verify_and_an_intact_log_has_no_breaks() -> None:
    for event in _log():
        assert event.hash == event.computed_hash()
    assert verify_chain(_log()) == []


def test_chain_detects_an_edited_payload() -> None:
    log = _log()
    data = json.loads(log[2].to_json())
    data["payload"]["account_id"] = "acc-mallory"
    log[2] = cat.decode_event(data)  # still a valid event, but no longer its hash
    breaks = verify_chain(log)
    assert [(b.sequence, b.problem) for b in breaks] == [(2, "hash does not match content")]


def test_chain_detects_a_deleted_event() -> None:
    log = _log()
    del log[2]
    problems = _problems(log)
    assert any("gap" in p for p in problems)
    assert "prev_hash does not link to previous event" in problems


def test_chain_detects_a_swap() -> None:
    log = _log()
    log[2], log[3] = log[3], log[2]
    problems = _problems(log)
    assert problems
    assert any("sequence" in p for p in problems)


def test_chain_detects_a_duplicate() -> None:
    log = _log()
    log.append(log[2])
    assert _problems(log) == ["duplicate event_id"]
