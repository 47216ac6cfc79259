"""The decisions a consumer takes before it applies anything: does an event continue its
aggregate's chain (hackathon_shared.chain), and is a contact record newer than what was
applied (hackathon_shared.record_versions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hackathon_shared.chain import Chains, Head, Verdict, judge
from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountCreatedPayload,
    AccountRolesChanged,
    AccountRolesChangedPayload,
    ContactDetails,
    decode_contact,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.record_versions import (
    KeyState,
    RecordVersions,
    VersionError,
    judge_record,
    version_of,
    versioned_contact_json,
)
from hackathon_shared.record_versions import Verdict as RecordVerdict

TOPIC = "registration.events"


def chain_of(length: int, account: str = "acc_1") -> list[Envelope]:
    """A real chain: sequence 1 with the genesis hash, each next one linked to the last."""
    events: list[Envelope] = [
        seal(
            AccountCreated,
            payload=AccountCreatedPayload(account_id=account, roles=["participant"]),
            aggregate_id=account,
            sequence=1,
            prev_hash=GENESIS_HASH,
        )
    ]
    while len(events) < length:
        events.append(roles_changed(account, events[-1].sequence + 1, events[-1].hash))
    return events


def roles_changed(account: str, sequence: int, prev_hash: str) -> Envelope:
    return seal(
        AccountRolesChanged,
        payload=AccountRolesChangedPayload(
            account_id=account, roles=["participant", "organizer"], changed_by="acc_organizer"
        ),
        aggregate_id=account,
        sequence=sequence,
        prev_hash=prev_hash,
    )


def head_of(event: Envelope) -> Head:
    return Head(event.sequence, event.hash)


# --------------------------------------------------------------------------------------------
# The chain
# --------------------------------------------------------------------------------------------


def test_the_first_event_must_be_sequence_one_on_the_genesis_hash() -> None:
    first, second = chain_of(2)
    assert judge(None, first, applied_before=False).verdict is Verdict.APPLY
    refused = judge(None, second, applied_before=False)
    assert refused.verdict is Verdict.REFUSE
    assert refused.reason == (
        "chain: expected sequence 1 first (nothing applied of this aggregate), got 2"
    )
    not_genesis = seal(
        AccountCreated,
        payload=AccountCreatedPayload(account_id="acc_1", roles=["participant"]),
        aggregate_id="acc_1",
        sequence=1,
        prev_hash="a" * 64,
    )
    refused = judge(None, not_genesis, applied_before=False)
    assert refused.verdict is Verdict.REFUSE
    assert refused.reason == "chain: prev_hash of sequence 1 does not link to the genesis hash"


def test_the_next_link_is_applied_and_becomes_the_head() -> None:
    events = chain_of(4)
    judgement = judge(head_of(events[2]), events[3], applied_before=False)
    assert judgement.verdict is Verdict.APPLY
    assert judgement.advances


def test_a_gap_is_refused_naming_what_was_expected() -> None:
    events = chain_of(6)
    refused = judge(head_of(events[2]), events[5], applied_before=False)
    assert refused.verdict is Verdict.REFUSE
    assert refused.reason == "chain: expected sequence 4 after 3, got 6"
    assert not refused.advances


def test_a_link_to_another_event_is_refused() -> None:
    events = chain_of(3)
    elsewhere = roles_changed("acc_1", 4, events[1].hash)  # links to 2, claims to follow 3
    refused = judge(head_of(events[2]), elsewhere, applied_before=False)
    assert refused.verdict is Verdict.REFUSE
    assert refused.reason == "chain: prev_hash of sequence 4 does not link to sequence 3"


def test_a_second_event_at_a_sequence_applied_is_a_fork() -> None:
    events = chain_of(4)
    fork = roles_changed("acc_1", 3, events[1].hash)  # a different third event
    for head in (events[2], events[3]):  # at the head, and behind it
        refused = judge(head_of(head), fork, applied_before=False)
        assert refused.verdict is Verdict.REFUSE
        assert refused.behind
        assert refused.reason == (
            f"chain: sequence 3 is taken already by another event (applied up to "
            f"{head.sequence}): a fork"
        )


def test_an_exact_duplicate_is_skipped_quietly_wherever_it_is() -> None:
    events = chain_of(5)
    for event in events:
        judgement = judge(head_of(events[-1]), event, applied_before=True)
        assert judgement.verdict is Verdict.DUPLICATE
        assert not judgement.advances


def test_an_event_that_passed_unapplied_is_applied_when_it_comes_again() -> None:
    """Dead-lettered after its chain was checked (its handler failed): the chain went on,
    and the same event sent again (from the DLQ, or a republished outbox) is applied where
    it is, while another event at its sequence is still a fork."""
    events = chain_of(5)
    passed = events[2]
    again = judge(head_of(events[4]), passed, applied_before=False, passed_hash=passed.hash)
    assert again.verdict is Verdict.APPLY
    assert not again.advances  # the head stays where the chain is
    fork = roles_changed("acc_1", 3, events[1].hash)
    refused = judge(head_of(events[4]), fork, applied_before=False, passed_hash=passed.hash)
    assert refused.verdict is Verdict.REFUSE
    # The head itself, passed in an earlier batch, needs no look-up.
    assert judge(head_of(passed), passed, applied_before=False).verdict is Verdict.APPLY


def test_a_head_stored_without_a_hash_takes_its_next_link_on_trust_once() -> None:
    events = chain_of(5)
    unlinked = roles_changed("acc_1", 4, "b" * 64)
    assert judge(Head(3, None), unlinked, applied_before=False).verdict is Verdict.APPLY
    assert judge(Head(3, None), events[4], applied_before=False).verdict is Verdict.REFUSE
    # From then on the hash is known and checked.
    chains = Chains({(TOPIC, "acc_1"): Head(3, None)})
    assert chains.judge(TOPIC, events[3], applied_before=False).verdict is Verdict.APPLY
    assert chains.heads[(TOPIC, "acc_1")] == head_of(events[3])
    assert chains.judge(TOPIC, unlinked, applied_before=False).verdict is Verdict.REFUSE


def test_a_batch_moves_each_head_as_it_goes() -> None:
    """Several events of one aggregate in one batch: each is judged against the head the
    earlier ones left; a refused one does not move it, so the real next link still follows."""
    events = chain_of(6)
    other = chain_of(2, account="acc_2")
    forged_gap = roles_changed("acc_1", 6, "c" * 64)
    chains = Chains({(TOPIC, "acc_1"): head_of(events[1])})
    verdicts = [
        chains.judge(TOPIC, event, applied_before=False).verdict
        for event in (events[2], forged_gap, events[3], other[0], other[1], events[4])
    ]
    assert verdicts == [Verdict.APPLY, Verdict.REFUSE] + [Verdict.APPLY] * 4
    assert chains.moved == {
        (TOPIC, "acc_1"): head_of(events[4]),
        (TOPIC, "acc_2"): head_of(other[1]),
    }
    # Chains are per topic: the same aggregate id elsewhere starts on its own.
    assert chains.judge("elsewhere", events[0], applied_before=False).verdict is Verdict.APPLY


# --------------------------------------------------------------------------------------------
# Contact records' versions
# --------------------------------------------------------------------------------------------

CONTACT = ContactDetails(
    account_id="acc_1",
    email="ada@example.org",
    display_name="Ada",
    updated_at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
)


def test_a_versioned_record_is_still_a_contact_record_for_older_readers() -> None:
    value = versioned_contact_json(CONTACT, 3)
    assert version_of(value.encode()) == 3
    assert decode_contact(value.encode()) == CONTACT  # the v1 model ignores the field
    assert version_of(CONTACT.to_json().encode()) is None  # from before versions
    assert version_of(None) is None  # a tombstone
    with pytest.raises(ValueError):
        versioned_contact_json(CONTACT, 0)


@pytest.mark.parametrize("bad", ["0", "-1", "true", "1.0", '"2"', "null"])
def test_a_version_that_is_not_a_positive_integer_is_refused(bad: str) -> None:
    value = CONTACT.to_json()[:-1] + f',"version":{bad}}}'
    with pytest.raises(VersionError):
        version_of(value.encode())


def test_a_newer_version_is_applied_an_older_or_different_one_refused() -> None:
    state = KeyState(version=2, digest="d2")
    verdict, reason, after = judge_record(state, tombstone=False, version=5, digest="d5")
    assert (verdict, after) == (RecordVerdict.APPLY, KeyState(5, "d5"))  # gaps are fine
    verdict, reason, after = judge_record(state, tombstone=False, version=1, digest="d1")
    assert verdict is RecordVerdict.REFUSE and after is None
    assert reason == "record version: version 1 is older than version 2, applied already"
    verdict, reason, _ = judge_record(state, tombstone=False, version=2, digest="other")
    assert verdict is RecordVerdict.REFUSE
    assert "another record with version 2" in reason
    verdict, _, after = judge_record(state, tombstone=False, version=2, digest="d2")
    assert (verdict, after) == (RecordVerdict.DUPLICATE, None)
    verdict, _, after = judge_record(None, tombstone=False, version=1, digest="d1")
    assert (verdict, after) == (RecordVerdict.APPLY, KeyState(1, "d1"))


def test_nothing_versioned_comes_after_a_tombstone() -> None:
    verdict, _, after = judge_record(
        KeyState(version=2, digest="d2"), tombstone=True, version=None, digest="t"
    )
    assert (verdict, after) == (RecordVerdict.APPLY, KeyState(2, "d2", ended=True))
    for version in (1, 2, 3):
        verdict, reason, _ = judge_record(after, tombstone=False, version=version, digest="x")
        assert verdict is RecordVerdict.REFUSE
        assert "after the key's tombstone" in reason
    # A tombstone again (a republished outbox sends one per older row) erases again.
    assert judge_record(after, tombstone=True, version=None, digest="t")[0] is RecordVerdict.APPLY


def test_records_from_before_versions_are_left_to_the_handler_until_a_version_is_known() -> None:
    verdict, _, after = judge_record(None, tombstone=False, version=None, digest="old")
    assert (verdict, after) == (RecordVerdict.APPLY, None)
    verdict, reason, _ = judge_record(
        KeyState(version=2, digest="d2"), tombstone=False, version=None, digest="old"
    )
    assert verdict is RecordVerdict.REFUSE
    assert "without a version after version 2" in reason


def test_a_batch_of_records_is_judged_in_order() -> None:
    versions = RecordVersions({"acc_1": KeyState(1, "d1")})
    judged = [
        versions.judge("acc_1", tombstone=False, version=2, digest="d2")[0],
        versions.judge("acc_1", tombstone=False, version=2, digest="d2")[0],
        versions.judge("acc_1", tombstone=False, version=1, digest="d1")[0],
        versions.judge("acc_1", tombstone=True, version=None, digest="t")[0],
        versions.judge("acc_1", tombstone=False, version=3, digest="d3")[0],
        versions.judge("acc_2", tombstone=False, version=1, digest="e1")[0],
    ]
    assert judged == [
        RecordVerdict.APPLY,
        RecordVerdict.DUPLICATE,
        RecordVerdict.REFUSE,
        RecordVerdict.APPLY,
        RecordVerdict.REFUSE,
        RecordVerdict.APPLY,
    ]
    assert versions.states == {"acc_1": KeyState(2, "d2", ended=True), "acc_2": KeyState(1, "e1")}
    assert versions.changed == {"acc_1", "acc_2"}
