"""The verification report: what it holds (:class:`Report`, its findings, each naming the
record that shows it, and the recomputed results) and how people read it (:func:`render`;
the ``--json`` form is ``Report.to_json``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class EventRef:
    """Where an event is in the log, and what it is (as far as it could be read)."""

    topic: str
    partition: int
    offset: int
    event_id: str | None = None
    type: str | None = None
    aggregate_id: str | None = None
    sequence: int | None = None

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def text(self) -> str:
        what = " ".join(
            part
            for part in (
                self.type or "?",
                self.event_id or "",
                f"(aggregate {self.aggregate_id} #{self.sequence})" if self.aggregate_id else "",
            )
            if part
        )
        return f"{self.position} {what}"


@dataclass(frozen=True)
class Finding:
    check: str  # schema | chain | reference | rule | results
    kind: str  # e.g. hash-mismatch, score-by-unassigned-judge, ranking-differs
    message: str
    event: EventRef
    related: EventRef | None = None


@dataclass(frozen=True)
class ResultsCheck:
    hackathon_id: str
    event: EventRef
    matches: bool
    entries: int
    awards: int


@dataclass
class Report:
    source: str
    records: int
    events: int
    aggregates: int
    scope: list[str]
    missing_topics: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # What is worth knowing but wrong in nothing: an identical copy of an event (redelivered).
    notes: list[Finding] = field(default_factory=list)
    results: list[ResultsCheck] = field(default_factory=list)
    # Whether each event's signature was checked (trusted keys given), and how many events
    # each key signed: who wrote the log, key by key.
    signatures_checked: bool = False
    signed_by: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.findings

    def kinds(self) -> set[str]:
        return {finding.kind for finding in self.findings}

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["clean"] = self.clean
        return body


NOTES_SHOWN = 10
"""How many notes the text report lists one by one (the JSON report has them all)."""


def render(report: Report) -> str:
    lines = [f"Audit of {report.source}"]
    summary = (
        f"  {report.records} records read, {report.events} valid events in "
        f"{report.aggregates} aggregates"
    )
    if report.scope:
        summary += f"; scope: hackathon {', '.join(report.scope)}"
    lines.append(summary)
    if report.missing_topics:
        lines.append(f"  topics not found: {', '.join(report.missing_topics)}")
    if not report.signatures_checked:
        lines.append(
            "  signatures NOT checked: no trusted keys given (--keys); nothing here shows "
            "who wrote the events"
        )
    else:
        signers = ", ".join(f"{key} ({count})" for key, count in report.signed_by.items())
        lines.append(f"  signed by: {signers or 'no key'}")
    if report.results:
        lines.append("")
        lines.append("Published results, recomputed from the events:")
        for check in report.results:
            verdict = "match" if check.matches else "DIFFER (see the findings)"
            lines.append(
                f"  {check.hackathon_id}: {check.entries} entries and {check.awards} awards "
                f"({check.event.position}) {verdict}"
            )
    if report.findings:
        lines.append("")
        lines.append(f"Findings ({len(report.findings)}):")
        for number, finding in enumerate(report.findings, start=1):
            lines.append(f"  {number}. [{finding.check}: {finding.kind}] {finding.event.text()}")
            lines.append(f"     {finding.message}")
            if finding.related is not None:
                lines.append(f"     see {finding.related.text()}")
    if report.notes:
        kinds = Counter(n.kind for n in report.notes)
        lines.append("")
        lines.append(
            f"Notes ({len(report.notes)}, not findings): "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        )
        for note in report.notes[:NOTES_SHOWN]:
            lines.append(f"  - [{note.check}: {note.kind}] {note.event.text()}: {note.message}")
            if note.related is not None:
                lines.append(f"    first at {note.related.text()}")
        if len(report.notes) > NOTES_SHOWN:
            lines.append(f"  ... and {len(report.notes) - NOTES_SHOWN} more (--json lists all)")
    lines.append("")
    if report.clean:
        lines.append("CLEAN: no finding.")
    else:
        kinds = Counter(f.kind for f in report.findings)
        listed = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        lines.append(f"NOT CLEAN: {len(report.findings)} findings ({listed}).")
    return "\n".join(lines) + "\n"
