"""``decode_event`` validates JSON in one strict pass first and leaves anything it does not
take to the careful path (``json.loads``, checks, the union): the outcome must be the
careful path's, for every input, valid or not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hackathon_shared.events import catalogue as cat
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal


def careful(data: bytes | str) -> Envelope | str:
    """What the careful path alone makes of ``data``: the event, or the decode error's text
    (a mapping is never given to the one-pass path)."""
    try:
        return cat.decode_event(cat._parse_json_object(data, "event"))
    except cat.EventDecodeError as error:
        return str(error)


def outcome(data: bytes | str) -> Envelope | str:
    try:
        return cat.decode_event(data)
    except cat.EventDecodeError as error:
        return str(error)


def submission() -> dict[str, Any]:
    payload = cat.SubmissionReceivedPayload(
        submission_id="sub-1",
        hackathon_id="hk-1",
        team_id="team-1",
        challenge_id="ch-1",
        version=2,
        title="Open budget explorer",
        summary="Every euro of the city budget, searchable.",
        kind="technology",
        repo_url="https://example.org/owls",
        submitted_by="acc-1",
        first_submitted_at="2030-05-01T09:00:00Z",  # type: ignore[arg-type]
        seen=[cat.SeenFact(producer="registration", aggregate_id="team-1", sequence=3)],
    )
    event = seal(
        cat.SubmissionReceived,
        payload=payload,
        aggregate_id="sub-1",
        sequence=2,
        prev_hash=GENESIS_HASH,
    )
    data: dict[str, Any] = json.loads(event.to_json())
    return data


def variants() -> list[tuple[str, str]]:
    base = submission()
    text = json.dumps(base)

    def changed(**fields: Any) -> str:
        return json.dumps({**base, **fields})

    def in_payload(**fields: Any) -> str:
        return json.dumps({**base, "payload": {**base["payload"], **fields}})

    return [
        ("canonical", text),
        ("spaced", json.dumps(base, indent=2)),
        ("version true", changed(version=True)),
        ("version 1.0", changed(version=1.0)),
        ("version '1'", changed(version="1")),
        ("sequence as text", changed(sequence="2")),
        ("sequence 2.0", changed(sequence=2.0)),
        ("payload version as text", in_payload(version="2")),
        ("NaN in an unknown field", in_payload(weight=float("nan"))),
        ("Infinity in an unknown field", in_payload(weight=float("inf"))),
        ("Infinity in a title", in_payload(title="To Infinity")),
        ("a lone surrogate", changed(correlation_id="x").replace('"x"', '"\\ud800"')),
        ("a repeated key", text[:-1] + ', "sequence": 3}'),
        ("a byte order mark", "\ufeff" + text),
        ("trailing text", text + " x"),
        ("trailing white space", text + " \n"),
        ("unknown type", changed(type="TeamRenamed")),
        ("unknown version", changed(version=2)),
        ("missing field", in_payload(title=None)),
        ("extra envelope field", changed(colour="red")),
        ("not an object", "[1, 2]"),
    ]


@pytest.mark.parametrize(("name", "text"), variants(), ids=[n for n, _ in variants()])
def test_the_one_pass_path_decides_as_the_careful_one(name: str, text: str) -> None:
    assert outcome(text) == careful(text)
    data = text.encode("utf-8", "surrogatepass")
    assert outcome(data) == careful(data)
    assert outcome(bytearray(data)) == careful(data)


def test_bytes_that_are_not_utf8_are_refused_as_before() -> None:
    data = json.dumps(submission()).encode().replace(b"Open budget", b"Open \xff budget")
    with pytest.raises(cat.EventDecodeError, match="not UTF-8"):
        cat.decode_event(data)


def test_a_valid_event_is_decoded_in_one_pass_to_the_same_object() -> None:
    event = submission()
    data = json.dumps(event)
    fast = cat._decode_fast(data.encode())
    assert fast is not None
    assert fast == careful(data)
    assert type(fast) is cat.SubmissionReceived
    assert fast.to_json() == json.dumps(event, sort_keys=True, separators=(",", ":"))
    assert fast.computed_hash() == fast.hash
