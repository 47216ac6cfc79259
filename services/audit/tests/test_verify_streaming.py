"""``audit verify`` streams: records are read one at a time, in whatever order they come
(the broker interleaves partitions), and what it keeps per record is small. The report is
the one the records give in log order; the JSON and canonical-JSON shortcuts it takes read
and write exactly what ``json`` does."""

from __future__ import annotations

import gc
import itertools
import json
import random
import tracemalloc
import weakref
from collections.abc import Iterator
from dataclasses import replace

import pytest

from audit.log import LogRecord
from audit.reading import canonical, compact_hash, parse_json, reject_constant
from audit.report import render
from audit.sample import LogBuilder, civic_hackathon, judged_hackathon
from audit.verify import Report, Verifier, verify
from hackathon_shared.events.envelope import canonical_json, compute_hash

# A bound far below what holding the records would take (a record's value alone is about
# 700 bytes here, its parsed JSON and decoded model several kilobytes more).
HELD_PER_RECORD = 1024  # bytes still allocated after every record was fed
PEAK_PER_RECORD = 2048  # bytes at most while the checks that relate records run


def _log(hackathons: int = 3) -> tuple[LogBuilder, list[LogRecord]]:
    log = LogBuilder(prefix="stream.")
    first = judged_hackathon(log, positions=False)
    for _ in range(hackathons - 1):
        judged_hackathon(log, organizer=first.organizer)
    return log, log.records()


def _tampered(records: list[LogRecord]) -> list[LogRecord]:
    """A copy of an event on another partition, two swapped values, an edited payload."""
    records = list(records)
    registration = [r for r in records if r.topic == "stream.registration.events"]
    copy = registration[5]
    records.append(replace(copy, partition=(copy.partition + 1) % 3, offset=50_000))
    a, b = next(  # two events of one team, swapped
        (a, b)
        for a, b in itertools.pairwise(registration)
        if a.key == b.key and a.key is not None and a.key.startswith(b"team_")
    )
    records[records.index(a)], records[records.index(b)] = (
        replace(a, value=b.value),
        replace(b, value=a.value),
    )
    edited = registration[20]
    assert edited.value is not None
    value = json.loads(edited.value)
    value["occurred_at"] = "2031-01-01T00:00:00Z"
    records[records.index(edited)] = replace(edited, value=canonical_json(value).encode())
    return records


def _same(one: Report, other: Report) -> None:
    assert one.to_json() == other.to_json(), render(one) + "\n---\n" + render(other)


@pytest.mark.parametrize("tamper", [False, True])
def test_the_order_records_come_in_does_not_change_the_report(tamper: bool) -> None:
    _, records = _log()
    if tamper:
        records = _tampered(records)
    ordered: list[LogRecord] = sorted(records, key=LogRecord.sort_key)
    in_log_order = verify(ordered)
    if tamper:
        assert {"duplicate-event", "hash-mismatch", "reordered"} <= in_log_order.kinds()
    else:
        assert in_log_order.clean, render(in_log_order)
    shuffled = list(records)
    random.Random(7).shuffle(shuffled)
    _same(in_log_order, verify(shuffled))
    # as the broker gives them: each partition in order, the partitions interleaved
    by_partition: dict[tuple[str, int], list[LogRecord]] = {}
    for record in sorted(records, key=LogRecord.sort_key):
        by_partition.setdefault((record.topic, record.partition), []).append(record)
    interleaved: list[LogRecord] = []
    queues = list(by_partition.values())
    while queues:
        for queue in list(queues):
            interleaved.extend(queue[:7])
            del queue[:7]
            if not queue:
                queues.remove(queue)
    _same(in_log_order, verify(iter(interleaved)))


def test_no_record_is_kept_once_it_was_read() -> None:
    _, records = _log(2)
    kept: list[weakref.ref[LogRecord]] = []

    def stream() -> Iterator[LogRecord]:
        for record in records:
            copy = replace(record)  # a record only the verifier has seen
            kept.append(weakref.ref(copy))
            yield copy

    verifier = Verifier()
    verifier.feed_all(stream())
    gc.collect()
    assert kept and not [ref for ref in kept if ref() is not None]
    assert verifier.result().clean


def test_what_is_held_per_record_is_bounded() -> None:
    log = LogBuilder()
    civic_hackathon(log, participants=600, teams=60, judges=12)
    records = log.records()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        verifier = Verifier()
        verifier.feed_all(records)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
        tracemalloc.reset_peak()
        report = verifier.result()
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert report.clean, render(report)
    assert len(report.results) == 1 and report.results[0].entries == 60
    assert held <= HELD_PER_RECORD * len(records), held / len(records)
    assert peak <= PEAK_PER_RECORD * len(records), peak / len(records)


def test_results_are_recomputed_from_each_hackathons_own_facts() -> None:
    """Each ``ResultsPublished`` is compared with its own hackathon's submissions and scores
    (kept per hackathon), not with another's."""
    log = LogBuilder(prefix="stream.")
    first = judged_hackathon(log)
    others = [judged_hackathon(log, organizer=first.organizer) for _ in range(4)]
    target = others[2]
    records = log.records()
    at = next(
        i
        for i, r in enumerate(records)
        if r.value is not None and json.loads(r.value)["event_id"] == str(target.results.event_id)
    )
    value = json.loads(records[at].value or b"")
    value["payload"]["entries"][0]["score"] += 1.0
    value["hash"] = compute_hash({k: v for k, v in value.items() if k != "hash"})
    records[at] = replace(records[at], value=canonical_json(value).encode())
    report = verify(records)
    assert report.kinds() == {"ranking-differs"}, render(report)
    assert [f.event.event_id for f in report.findings] == [str(target.results.event_id)]
    verdicts = {r.hackathon_id: r.matches for r in report.results}
    assert verdicts == {h.hackathon_id: h is not target for h in [first, *others]}


JSON_CASES = [
    b'{"a":"\\ud800"}',  # a lone surrogate: pydantic-core refuses, json accepts
    b'{"a":"\\ud83d\\ude00"}',
    b'{"a":"\xff"}',  # not UTF-8
    b'{"a":"x\x01y"}',  # a raw control character
    b'\xef\xbb\xbf{"a":1}',
    b'{"a":1,}',
    b'{"a":01}',
    b'{"a":NaN}',
    b'{"a":-Infinity}',
    b'{"a":1E400}',
    b'{"a":-0}',
    b'{"a":-0.0}',
    b'{"a":9007199254740993}',
    b'{"a":9007199254740993.0}',
    b'{"a":123456789012345678901234567890}',
    b'{"a":5e-324}',
    b'{"b":1,"a":2,"b":3}',  # a repeated key: the last value, the first place
    b'{"a":"\\/\\u00e9\\u0000"}',
    b'\t{"a":[true,false,null]}\r\n',
    b'{"a":1} x',
    b"[" * 300 + b"]" * 300,  # deeper than pydantic-core goes
    b"",
]


def _json_loads(value: bytes) -> object:
    return json.loads(value.decode("utf-8"), parse_constant=reject_constant)


def _outcome(parse: object, value: bytes) -> tuple[str, object]:
    try:
        return "value", parse(value)  # type: ignore[operator]
    except (UnicodeDecodeError, ValueError) as error:
        return "error", f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("value", JSON_CASES)
def test_records_parse_as_json_loads_parses_them(value: bytes) -> None:
    mine, theirs = _outcome(parse_json, value), _outcome(_json_loads, value)
    assert mine == theirs
    if mine[0] == "value":  # the same text again: same keys in the same order, same numbers
        assert canonical_json(mine[1]) == canonical_json(theirs[1])
        assert repr(mine[1]) == repr(theirs[1])


def test_kept_hashes_compare_as_the_recorded_ones() -> None:
    digest = "ab" * 32
    values = [digest, digest.upper(), "ab" * 31 + "a b", "ab" * 31, None, 7, ["x"], "zz" * 32]
    for one in values:
        for other in values:
            assert (compact_hash(one) == compact_hash(other)) == (one == other), (one, other)
    assert compact_hash(digest) == bytes.fromhex(digest)


def test_the_canonical_form_is_the_envelopes() -> None:
    _, records = _log(1)
    values: list[object] = [json.loads(r.value) for r in records if r.value is not None]
    values += [
        {"é": 'ü\u2028\x00"\\/', "b": [1.5, 1e-07, 1e16, -0.0, 10**30, True, None], "a": {}},
        {"z": {"y": [{"b": 1, "a": 2}]}, "": ""},
    ]
    for value in values:
        assert canonical(value) == canonical_json(value)
