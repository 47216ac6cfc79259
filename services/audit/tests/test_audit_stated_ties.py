"""``audit verify`` checks what ``ResultsPublished`` states of ties and method: an honest
statement verifies clean; a hidden tie, a wrong raw mean or a wrong normalisation is a
``ranking-differs`` finding. (Events that state none of it, published before ties were
visible, are the other audit tests' samples: they are compared as before.)"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from audit.log import LogRecord
from audit.report import render
from audit.sample import LogBuilder, judged_hackathon
from audit.verify import verify
from hackathon_shared.events.envelope import canonical_json, compute_hash

RULE = "earlier_first_submission_then_smaller_submission_id"


def _edited(edit: Any) -> tuple[list[LogRecord], str]:
    """A judged hackathon's log whose `ResultsPublished` payload went through ``edit`` and
    was sealed again (the chain stays intact); and that event's id."""
    log = LogBuilder(prefix="ties.")
    hackathon = judged_hackathon(log)
    records = log.records()
    event_id = str(hackathon.results.event_id)
    at = next(
        i
        for i, r in enumerate(records)
        if r.value is not None and json.loads(r.value)["event_id"] == event_id
    )
    value = json.loads(records[at].value or b"")
    edit(value["payload"])
    value["hash"] = compute_hash({k: v for k, v in value.items() if k != "hash"})
    records[at] = replace(records[at], value=canonical_json(value).encode())
    return records, event_id


def _honest(payload: dict[str, Any]) -> None:
    """What the scoring service states now. The sample's first two entries tie (both 22/3,
    first submitted at different instants); its other scores all differ."""
    payload["normalization"] = "none"
    payload["tie_break"] = RULE
    scores = [entry["score"] for entry in payload["entries"]]
    for entry in payload["entries"]:
        same = scores.count(entry["score"])
        entry["raw_mean"] = entry["score"]  # no normalisation
        entry["score_rank"] = 1 + sum(1 for score in scores if score > entry["score"])
        entry["tied_with"] = same - 1
        entry["placed_by"] = "score" if same == 1 else "earlier_first_submission"


def test_an_honest_statement_of_ties_and_method_verifies_clean() -> None:
    records, _ = _edited(_honest)
    report = verify(records)
    assert report.clean, render(report)
    assert [r.matches for r in report.results] == [True]


def test_a_hidden_tie_a_wrong_raw_mean_and_a_wrong_method_are_found() -> None:
    def lie(payload: dict[str, Any]) -> None:
        _honest(payload)
        first, second, third = payload["entries"][:3]
        assert (first["tied_with"], second["score_rank"]) == (1, 1)  # the sample's tie
        for entry in (first, second):  # shown as if the score alone had placed them
            entry.update(score_rank=entry["rank"], tied_with=0, placed_by="score")
        third["raw_mean"] += 0.5
        payload["normalization"] = "zscore"

    records, event_id = _edited(lie)
    report = verify(records)
    assert report.kinds() == {"ranking-differs"}, render(report)
    [finding] = report.findings
    assert finding.event.event_id == event_id
    assert "score_rank 2, recomputed 1" in finding.message
    assert "tied_with 0, recomputed 1" in finding.message
    assert "placed_by score, recomputed earlier_first_submission" in finding.message
    assert "raw mean" in finding.message
    assert "normalisation zscore, the rubric's is none" in finding.message
    assert [r.matches for r in report.results] == [False]
