"""Event signatures (hackathon_shared.signing): what a consumer and the audit accept, the key
files the run command keeps, and key rotation (a new key, the old one still trusted for the
events it signed)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hackathon_shared.events.catalogue import TeamMemberJoined, TeamMemberJoinedPayload
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    SignatureRefused,
    TrustedKeys,
    ensure_platform_keys,
    load_signer,
    load_trusted_keys,
    record_digest,
    rotate_signing_key,
    write_trusted_keys,
)

PRODUCERS = ("registration", "submissions", "scoring", "notifications")


def joined(account: str = "acc_1") -> Envelope:
    return seal(
        TeamMemberJoined,
        payload=TeamMemberJoinedPayload(team_id="team_1", hackathon_id="hck_1", account_id=account),
        aggregate_id="team_1",
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


def refusal(keys: TrustedKeys, event: Envelope, headers: dict[str, str], producer: str) -> str:
    with pytest.raises(SignatureRefused) as refused:
        keys.check(event, headers, producer)
    return refused.value.kind


def test_the_run_commands_keys_are_made_once_private_and_trusted(tmp_path: Path) -> None:
    files = ensure_platform_keys(tmp_path / "keys", PRODUCERS)
    first = {p: load_signer(files.signing_key(p), p).key_id for p in PRODUCERS}
    for producer in PRODUCERS:
        mode = stat.S_IMODE(files.signing_key(producer).stat().st_mode)
        assert mode == 0o600, oct(mode)  # a private key is readable by its owner only
    trusted = load_trusted_keys(files.trusted)
    assert {key.key_id for key in trusted.entries()} == set(first.values())
    assert {key.producer for key in trusted.entries()} == set(PRODUCERS)
    # The published file holds public keys only.
    assert "PRIVATE" not in files.trusted.read_text()

    again = ensure_platform_keys(tmp_path / "keys", PRODUCERS)
    assert {p: load_signer(again.signing_key(p), p).key_id for p in PRODUCERS} == first
    assert len(load_trusted_keys(again.trusted)) == len(PRODUCERS)


def test_a_signed_event_is_accepted_and_every_kind_of_forgery_is_named(tmp_path: Path) -> None:
    files = ensure_platform_keys(tmp_path, PRODUCERS)
    keys = load_trusted_keys(files.trusted)
    registration = load_signer(files.signing_key("registration"), "registration")
    submissions = load_signer(files.signing_key("submissions"), "submissions")
    event = joined()
    headers = registration.headers_for(event.hash)
    assert keys.check(event, headers, "registration") == registration.key_id

    assert refusal(keys, event, {}, "registration") == "unsigned"
    assert refusal(keys, event, submissions.headers_for(event.hash), "registration") == (
        "wrong-producer"
    )
    # The real key's signature of another event does not carry over.
    other = joined("acc_2")
    assert refusal(keys, other, headers, "registration") == "bad-signature"
    # An edited payload under the original hash and signature.
    edited = event.model_copy(
        update={"payload": event.payload.model_copy(update={"account_id": "acc_3"})}
    )
    assert refusal(keys, edited, headers, "registration") == "bad-hash"
    # A real event of registration, replayed on scoring's topic.
    assert refusal(keys, event, headers, "scoring") == "wrong-producer"
    forged_id = {**headers, KEY_ID_HEADER: "registration-0000000000000000"}
    assert refusal(keys, event, forged_id, "registration") == "untrusted-key"
    garbled = {**headers, SIGNATURE_HEADER: "not base64 at all!"}
    assert refusal(keys, event, garbled, "registration") == "bad-signature"


def test_a_plain_records_signature_covers_its_key_and_value(tmp_path: Path) -> None:
    files = ensure_platform_keys(tmp_path, PRODUCERS)
    keys = load_trusted_keys(files.trusted)
    registration = load_signer(files.signing_key("registration"), "registration")
    value = b'{"account_id":"acc_1","email":"ada@example.org"}'
    headers = registration.headers_for(record_digest(b"acc_1", value))
    assert keys.check_signature(record_digest(b"acc_1", value), headers, "registration")
    for key, other in (
        (b"acc_2", value),
        (b"acc_1", value.replace(b"ada", b"eve")),
        (b"acc_1", None),
    ):
        with pytest.raises(SignatureRefused):
            keys.check_signature(record_digest(key, other), headers, "registration")


def test_rotation_keeps_what_the_old_key_signed_trusted_until_it_is_removed(
    tmp_path: Path,
) -> None:
    files = ensure_platform_keys(tmp_path, PRODUCERS)
    old = load_signer(files.signing_key("scoring"), "scoring")
    before = joined()  # any event: the key signs its hash
    old_headers = old.headers_for(before.hash)

    new = rotate_signing_key(files, "scoring")
    assert new.key_id != old.key_id
    assert load_signer(files.signing_key("scoring"), "scoring").key_id == new.key_id
    assert (tmp_path / f"{old.key_id}.key.retired").exists()
    keys = load_trusted_keys(files.trusted)
    after = joined("acc_9")
    assert keys.check_signature(before.hash, old_headers, "scoring") == old.key_id
    assert keys.check_signature(after.hash, new.headers_for(after.hash), "scoring") == new.key_id
    # A restart with the run command keeps both (it only adds keys it does not know).
    ensure_platform_keys(tmp_path, PRODUCERS)
    assert old.key_id in load_trusted_keys(files.trusted)

    # Withdrawing trust in the old key (say it leaked): what it signed is refused from then on.
    write_trusted_keys(files.trusted, [k for k in keys.entries() if k.key_id != old.key_id])
    keys = load_trusted_keys(files.trusted)
    with pytest.raises(SignatureRefused) as refused:
        keys.check_signature(before.hash, old_headers, "scoring")
    assert refused.value.kind == "untrusted-key"


def test_a_trusted_keys_file_that_lies_about_a_key_id_is_refused(tmp_path: Path) -> None:
    files = ensure_platform_keys(tmp_path, PRODUCERS)
    document = json.loads(files.trusted.read_text())
    scoring = next(k for k in document["keys"] if k["producer"] == "scoring")
    scoring["producer"] = "registration"  # a scoring key passed off as registration's
    files.trusted.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="does not match its public key"):
        load_trusted_keys(files.trusted)
