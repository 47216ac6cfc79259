"""``audit rebuild SERVICE``: replay the log into a fresh database through the service's own
projection code, and compare the result with the service's live database.

Supported: ``submissions`` (its view of registration's and scoring's facts, and its own
submissions, through ``submissions.service.view.rebuild``) and ``scoring`` (its view, the
assignments, scores and results, through ``scoring.service.view.rebuild``). Registration's
database is the source of its events (and holds the personal data that never enters the
log), so it is not rebuilt; notifications' feed is not (yet) covered.

Only the read-model tables are compared (not the outbox, inbox or migration bookkeeping).
With hackathon ids given, only the rows of those hackathons are compared (rows keyed by team
or submission are selected through the teams and submissions the log gives them).

Given the producers' trusted public keys, each event's signature is checked as the consumers
check it (:func:`audit.signatures.applied_by_consumers`) before it is replayed: one that fails
is left out of the rebuild, as the consumers never applied it, and named in the report (with
hackathon ids given, those of other hackathons are only counted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel, col, select

from audit.log import LogRecord, logical_topic
from audit.signatures import applied_by_consumers, refusal_message
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import EventDecodeError, decode_event
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.signing import SignatureRefused, TrustedKeys
from hackathon_shared.topics import REGISTRATION_EVENTS, SCORING_EVENTS, SUBMISSIONS_EVENTS


class RebuildError(RuntimeError):
    """The rebuild could not be made (unknown service, target database not fresh...)."""


@dataclass(frozen=True)
class TableSpec:
    table: type[SQLModel]
    scope_column: str
    scope_kind: str  # hackathon | team | submission
    # Columns left out of the comparison (bookkeeping that a database migrated from an older
    # version cannot have, see docs/audit.md).
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceSpec:
    migrations: Path
    topics: tuple[str, ...]
    rebuild: Callable[[Database, Iterable[Envelope]], Awaitable[int]]
    tables: tuple[TableSpec, ...]


def _migrations(package: Any) -> Path:
    return Path(package.__file__).parent / "migrations"


# Each service's modules are imported only when that service is rebuilt. (Their tables have a
# SQLAlchemy registry of their own, so loading several services' tables in one process works
# too.)


def _submissions() -> ServiceSpec:
    import submissions
    from submissions.adapters import tables
    from submissions.service.view import rebuild

    return ServiceSpec(
        migrations=_migrations(submissions),
        topics=(REGISTRATION_EVENTS, SCORING_EVENTS, SUBMISSIONS_EVENTS),
        rebuild=rebuild,
        tables=(
            TableSpec(tables.KnownHackathon, "hackathon_id", "hackathon"),
            TableSpec(tables.KnownTeam, "hackathon_id", "hackathon", ignored=("sequence",)),
            TableSpec(tables.KnownMember, "team_id", "team"),
            TableSpec(tables.KnownAssignment, "submission_id", "submission"),
            TableSpec(tables.SubmissionRow, "hackathon_id", "hackathon"),
        ),
    )


def _scoring() -> ServiceSpec:
    import scoring
    from scoring.adapters import tables
    from scoring.service.view import rebuild

    return ServiceSpec(
        migrations=_migrations(scoring),
        topics=(REGISTRATION_EVENTS, SUBMISSIONS_EVENTS, SCORING_EVENTS),
        rebuild=rebuild,
        tables=(
            TableSpec(tables.JudgedHackathon, "hackathon_id", "hackathon"),
            TableSpec(tables.KnownJudge, "hackathon_id", "hackathon"),
            TableSpec(tables.KnownTeam, "team_id", "team"),
            TableSpec(tables.KnownSubmission, "hackathon_id", "hackathon"),
            TableSpec(tables.AssignmentRow, "hackathon_id", "hackathon"),
            TableSpec(tables.ScoreRow, "hackathon_id", "hackathon"),
            TableSpec(tables.ResultsRow, "hackathon_id", "hackathon"),
        ),
    )


SERVICES: dict[str, Callable[[], ServiceSpec]] = {
    "submissions": _submissions,
    "scoring": _scoring,
}


@dataclass
class TableDifference:
    table: str
    rebuilt_rows: int
    live_rows: int
    only_rebuilt: list[str] = field(default_factory=list)
    only_live: list[str] = field(default_factory=list)
    different: list[dict[str, Any]] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.only_rebuilt or self.only_live or self.different)


@dataclass(frozen=True)
class RefusedEvent:
    """An event left out of the rebuild: its signature does not show that its producer wrote
    it (``kind`` as in ``audit verify``'s ``signature`` findings)."""

    position: str
    event_id: str
    type: str
    aggregate_id: str
    hackathon_id: str | None
    kind: str
    message: str


@dataclass
class Signatures:
    """What the signature check of a rebuild found: whether it was made, the events it
    refused, and how many events each trusted key signed."""

    checked: bool = False
    refused: list[RefusedEvent] = field(default_factory=list)
    signed_by: dict[str, int] = field(default_factory=dict)


@dataclass
class RebuildReport:
    service: str
    target: str
    live: str | None
    events_applied: int
    records_skipped: int
    scope: list[str]
    tables: list[TableDifference]
    signatures_checked: bool = False
    # The refused events (of the scope's hackathons, when a scope is given), and how many
    # events of other hackathons were refused besides (left out just the same).
    refused: list[RefusedEvent] = field(default_factory=list)
    refused_out_of_scope: int = 0
    signed_by: dict[str, int] = field(default_factory=dict)

    @property
    def compared(self) -> bool:
        return self.live is not None

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)

    @property
    def found(self) -> bool:
        """Something an auditor must look at: a refused event, or a difference."""
        return bool(self.refused) or (self.compared and not self.equal)

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["equal"] = self.equal if self.compared else None
        for table, difference in zip(body["tables"], self.tables, strict=True):
            table["equal"] = difference.equal
        return body


def events_for(
    records: Iterable[LogRecord],
    topics: Sequence[str],
    keys: TrustedKeys | None = None,
    signatures: Signatures | None = None,
) -> tuple[list[Envelope], int]:
    """The valid events of ``topics`` in log order, each once (as the services' inboxes
    would take them), and how many records were skipped as not valid events. With ``keys``,
    only the events whose signature the consumers would accept: the others are left out
    (before the inbox's once-only, so that a forgery reusing a real event's id does not hide
    the real one) and listed in ``signatures``, with how many events each key signed."""
    placed = ((logical_topic(r.topic), r) for r in records)  # logical_topic once per record
    wanted = [(topics.index(topic), r) for topic, r in placed if topic in topics]
    wanted.sort(key=lambda found: (found[0], found[1].sort_key()))
    seen: set[str] = set()
    events: list[Envelope] = []
    skipped = 0
    for index, record in wanted:
        if record.value is None:
            skipped += 1
            continue
        try:
            event = decode_event(record.value)
        except EventDecodeError:
            skipped += 1
            continue
        if keys is not None:
            assert signatures is not None
            topic = topics[index]
            try:
                key_id = applied_by_consumers(keys, event, record.value, record.headers, topic)
            except SignatureRefused as refused:
                signatures.refused.append(_refused(record, event, topic, refused))
                continue
            signatures.signed_by[key_id] = signatures.signed_by.get(key_id, 0) + 1
        if str(event.event_id) in seen:
            continue
        seen.add(str(event.event_id))
        events.append(event)
    return events, skipped


def _refused(
    record: LogRecord, event: Envelope, topic: str, refused: SignatureRefused
) -> RefusedEvent:
    hackathon_id = getattr(event.payload, "hackathon_id", None)
    return RefusedEvent(
        position=record.position,
        event_id=str(event.event_id),
        type=event.type,
        aggregate_id=event.aggregate_id,
        hackathon_id=hackathon_id if isinstance(hackathon_id, str) else None,
        kind=refused.kind,
        message=refusal_message(topic, refused),
    )


def _scope_ids(events: Iterable[Envelope], hackathons: set[str]) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {"hackathon": set(hackathons), "team": set(), "submission": set()}
    for event in events:
        payload = event.payload
        if getattr(payload, "hackathon_id", None) not in hackathons:
            continue
        if event.type == "TeamRegistered":
            ids["team"].add(payload.team_id)
        elif event.type == "SubmissionReceived":
            ids["submission"].add(payload.submission_id)
    return ids


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):  # always aware: every timestamp column is a UtcDateTime
        return value.astimezone(UTC).isoformat()
    return value


async def _rows(
    db: Database, spec: TableSpec, scope: dict[str, set[str]] | None
) -> dict[str, dict[str, Any]]:
    table = spec.table
    query = select(table)
    if scope is not None:
        query = query.where(col(getattr(table, spec.scope_column)).in_(scope[spec.scope_kind]))
    keys = [c.name for c in table.__table__.primary_key.columns]  # type: ignore[attr-defined]
    async with db.sessions() as session:
        found = (await session.exec(query)).all()
    rows: dict[str, dict[str, Any]] = {}
    for row in found:
        values = {
            name: _plain(value)
            for name, value in row.model_dump().items()
            if name not in spec.ignored
        }
        rows["/".join(str(values[k]) for k in keys)] = values
    return rows


def compare_rows(
    name: str, rebuilt: dict[str, dict[str, Any]], live: dict[str, dict[str, Any]]
) -> TableDifference:
    difference = TableDifference(name, len(rebuilt), len(live))
    difference.only_rebuilt = sorted(set(rebuilt) - set(live))
    difference.only_live = sorted(set(live) - set(rebuilt))
    for key in sorted(set(rebuilt) & set(live)):
        columns = {
            column: {"live": live[key].get(column), "rebuilt": value}
            for column, value in rebuilt[key].items()
            if live[key].get(column) != value
        }
        if columns:
            difference.different.append({"key": key, "columns": columns})
    return difference


async def _ensure_fresh(db: Database, spec: ServiceSpec) -> None:
    async with db.sessions() as session:
        for table in spec.tables:
            count = (await session.exec(select(func.count()).select_from(table.table))).one()
            if count:
                name = table.table.__tablename__
                raise RebuildError(
                    f"the target database is not fresh: table {name} has {count} rows "
                    "(give an empty database)"
                )


async def rebuild_service(
    service: str,
    records: Iterable[LogRecord],
    target_url: str,
    *,
    live_url: str | None = None,
    hackathons: Iterable[str] | None = None,
    keys: TrustedKeys | None = None,
) -> RebuildReport:
    """Rebuild ``service``'s read model from ``records`` into ``target_url``; with ``keys``,
    only from the events whose signature checks (the others are refused and reported)."""
    load = SERVICES.get(service)
    if load is None:
        raise RebuildError(
            f"cannot rebuild {service!r}: supported are {', '.join(sorted(SERVICES))} "
            "(registration's database is the source of its events, not a view of the log)"
        )
    spec = load()
    signatures = Signatures(checked=keys is not None)
    events, skipped = events_for(records, spec.topics, keys, signatures)
    try:
        report = await _rebuild(service, spec, events, skipped, target_url, live_url, hackathons)
    except (SQLAlchemyError, OSError) as error:
        first_line = str(error).splitlines()[0] if str(error) else repr(error)
        raise RebuildError(f"database error: {first_line}") from None
    scope = set(report.scope)
    report.signatures_checked = signatures.checked
    report.signed_by = dict(sorted(signatures.signed_by.items()))
    report.refused = [r for r in signatures.refused if not scope or r.hackathon_id in scope]
    report.refused_out_of_scope = len(signatures.refused) - len(report.refused)
    return report


async def _rebuild(
    service: str,
    spec: ServiceSpec,
    events: list[Envelope],
    skipped: int,
    target_url: str,
    live_url: str | None,
    hackathons: Iterable[str] | None,
) -> RebuildReport:
    await upgrade_to_head(target_url, spec.migrations)
    target = Database(target_url)
    try:
        await _ensure_fresh(target, spec)
        applied = await spec.rebuild(target, events)
        scope_set = set(hackathons) if hackathons else None
        scope = _scope_ids(events, scope_set) if scope_set else None
        differences: list[TableDifference] = []
        if live_url is not None:
            live = Database(live_url)
            try:
                for table in spec.tables:
                    differences.append(
                        compare_rows(
                            table.table.__tablename__,  # type: ignore[arg-type]
                            await _rows(target, table, scope),
                            await _rows(live, table, scope),
                        )
                    )
            finally:
                await live.dispose()
        else:
            for table in spec.tables:
                count = len(await _rows(target, table, scope))
                differences.append(
                    TableDifference(table.table.__tablename__, count, 0)  # type: ignore[arg-type]
                )
    finally:
        await target.dispose()
    return RebuildReport(
        service=service,
        target=_redacted(target_url),
        live=_redacted(live_url) if live_url else None,
        events_applied=applied,
        records_skipped=skipped,
        scope=sorted(scope_set) if scope_set else [],
        tables=differences,
    )


def _redacted(url: str) -> str:
    """The URL without a password, for reports."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if user else f"{scheme}://{host}"


def _render_signatures(report: RebuildReport) -> list[str]:
    if not report.signatures_checked:
        return [
            "  signatures NOT checked (--no-signatures): every event the log holds was "
            "replayed, whoever wrote it"
        ]
    signers = ", ".join(f"{key} ({count})" for key, count in report.signed_by.items())
    lines = [f"  signed by: {signers or 'no key'}"]
    refused = len(report.refused) + report.refused_out_of_scope
    if refused:
        lines.append(
            f"  REFUSED {refused} events whose signature does not check (left out of the "
            "rebuild, as the consumers never applied them):"
        )
        for event in report.refused:
            lines.append(
                f"    [signature: {event.kind}] {event.position} {event.type} {event.event_id} "
                f"(aggregate {event.aggregate_id}): {event.message}"
            )
        if report.refused_out_of_scope:
            lines.append(f"    and {report.refused_out_of_scope} of other hackathons")
    return lines


def render_rebuild(report: RebuildReport) -> str:
    lines = [
        f"Rebuild of {report.service} into {report.target}: {report.events_applied} events "
        f"applied, {report.records_skipped} records skipped (not valid events)"
    ]
    if report.scope:
        lines.append(f"  scope: hackathon {', '.join(report.scope)}")
    lines.extend(_render_signatures(report))
    verdict = (
        f"REFUSED: {len(report.refused)} events not signed by their producer."
        if report.refused
        else ""
    )
    if not report.compared:
        for table in report.tables:
            lines.append(f"  {table.table}: {table.rebuilt_rows} rows")
        lines.append("Not compared (no --live database given).")
        if verdict:
            lines.append(verdict)
        return "\n".join(lines) + "\n"
    lines.append(f"Compared with the live database {report.live}:")
    for table in report.tables:
        state = "equal" if table.equal else "DIFFERENT"
        lines.append(
            f"  {table.table}: {state} ({table.rebuilt_rows} rebuilt, {table.live_rows} live)"
        )
        for key in table.only_rebuilt[:10]:
            lines.append(f"    only in the rebuild: {key}")
        for key in table.only_live[:10]:
            lines.append(f"    only in the live database: {key}")
        for row in table.different[:10]:
            columns = ", ".join(
                f"{name}: live {change['live']!r} / rebuilt {change['rebuilt']!r}"
                for name, change in row["columns"].items()
            )
            lines.append(f"    {row['key']}: {columns}")
    lines.append("EQUAL: the rebuilt read model is the live one." if report.equal else "DIFFERENT.")
    if verdict:
        lines.append(verdict)
    return "\n".join(lines) + "\n"
