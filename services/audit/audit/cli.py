"""``hackathon audit``: export the log, verify it, rebuild a read model (and write a sample).

Exit status: 0 when the log is clean (verify) or the rebuild equals the live database
(rebuild); 1 when something was found (a finding, a difference, an event refused for its
signature); 2 when the audit could not be made (broker unreachable, unreadable export, a
target database that is not empty, no trusted keys and no --no-signatures, bad usage)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from audit.log import (
    ExportFormatError,
    LogReadError,
    LogRecord,
    event_topic_names,
    iter_broker,
    iter_jsonl,
    read_broker,
    read_jsonl,
    write_jsonl,
)
from audit.progress import Progress, progress_wanted
from audit.report import render
from audit.sample import LogBuilder, judged_hackathon
from audit.verify import Verifier, collection_paused
from hackathon_shared.settings import ServiceSettings
from hackathon_shared.signing import TrustedKeys, load_trusted_keys

CLEAN, FOUND, FAILED = 0, 1, 2
REBUILDABLE = ("scoring", "submissions")  # audit.rebuild.SERVICES


class _Failure(Exception):
    """The audit could not be made; the message says why (exit status 2)."""


def _settings() -> tuple[str, str]:
    settings = ServiceSettings(service_name="audit")
    return settings.kafka_bootstrap_servers, settings.topic_prefix


def _broker_options(parser: argparse.ArgumentParser) -> None:
    bootstrap, prefix = _settings()
    group = parser.add_argument_group("broker (when no --from file is given)")
    group.add_argument(
        "--bootstrap-servers",
        default=bootstrap,
        help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS, else %(default)s)",
    )
    group.add_argument(
        "--topic-prefix", default=prefix, help="topic name prefix (default: TOPIC_PREFIX)"
    )
    group.add_argument(
        "--group",
        default=None,
        help="the audit's consumer group id (default: <prefix>audit); it never commits offsets",
    )
    group.add_argument(
        "--timeout", type=float, default=120.0, help="give up reading after this many seconds"
    )


def _signature_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--keys`` and ``--no-signatures``, the same for every command that reads events."""
    parser.add_argument(
        "--keys",
        metavar="FILE",
        default=os.environ.get("EVENT_TRUSTED_KEYS_FILE") or None,
        help=f"the producers' trusted public keys (docs/event-signing.md): {what} (default: "
        "EVENT_TRUSTED_KEYS_FILE; required unless --no-signatures)",
    )
    parser.add_argument(
        "--no-signatures",
        action="store_true",
        help="do not check who wrote the events (a log from before signing, a sample): the "
        "report says that signatures were not checked",
    )


def _progress_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: only when stderr is a terminal)",
    )


def _progress(args: argparse.Namespace, label: str, total: int | None = None) -> Progress:
    return Progress(label, total, enabled=progress_wanted(args.progress))


def _broker_source(args: argparse.Namespace) -> str:
    prefix = f" (prefix {args.topic_prefix!r})" if args.topic_prefix else ""
    return f"the broker at {args.bootstrap_servers}{prefix}"


def _read(args: argparse.Namespace) -> tuple[list[LogRecord], str, list[str]]:
    """The log records, a description of where they came from, and missing topics."""
    source = getattr(args, "source", None)
    if source:
        meter = _progress(args, "reading the export")
        try:
            if source == "-":
                records = list(iter_jsonl(sys.stdin))
            else:
                records = read_jsonl(Path(source), meter)
        except (OSError, ExportFormatError) as error:
            raise _Failure(f"cannot read {source}: {error}") from None
        finally:
            meter.close()
        return records, f"the export {source}", []
    topics = event_topic_names(args.topic_prefix)
    meter = _progress(args, "reading the broker")
    try:
        records, missing = asyncio.run(
            read_broker(
                args.bootstrap_servers,
                topics,
                group_id=args.group or f"{args.topic_prefix}audit",
                progress=meter,
                timeout=args.timeout,
            )
        )
    except LogReadError as error:
        raise _Failure(str(error)) from None
    finally:
        meter.close()
    return records, _broker_source(args), missing


def _feed(args: argparse.Namespace, verifier: Verifier) -> tuple[str, list[str]]:
    """Stream the log (an export or the broker) through ``verifier``, one record at a time,
    keeping none; returns where it came from and the topics not found."""
    source = getattr(args, "source", None)
    meter = _progress(args, "checking")
    try:
        if source:
            verifier.progress = meter
            try:
                if source == "-":
                    verifier.feed_all(iter_jsonl(sys.stdin))
                else:
                    with Path(source).open(encoding="utf-8") as lines:
                        verifier.feed_all(iter_jsonl(lines))
            except (OSError, ExportFormatError) as error:
                raise _Failure(f"cannot read {source}: {error}") from None
            return f"the export {source}", []
        missing: list[str] = []

        async def fetch() -> None:
            async for batch in iter_broker(
                args.bootstrap_servers,
                event_topic_names(args.topic_prefix),
                group_id=args.group or f"{args.topic_prefix}audit",
                missing=missing,
                progress=meter,
                timeout=args.timeout,
            ):
                verifier.feed_all(batch)

        try:
            asyncio.run(fetch())
        except LogReadError as error:
            raise _Failure(str(error)) from None
        return _broker_source(args), missing
    finally:
        meter.close()


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if not path or path == "-":
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as out:
        yield out


def _export(args: argparse.Namespace) -> int:
    records, source, missing = _read(args)
    with _output(args.out) as out:
        count = write_jsonl(records, out)
    where = args.out if args.out and args.out != "-" else "stdout"
    print(f"exported {count} records from {source} to {where}", file=sys.stderr)
    for topic in missing:
        print(f"warning: topic {topic} not found", file=sys.stderr)
    return CLEAN


def _trusted_keys(args: argparse.Namespace) -> TrustedKeys | None:
    """The trusted public keys ``--keys`` names; None with ``--no-signatures``. Without
    either, the command does not run: nothing would show who wrote the events."""
    if not args.keys and not args.no_signatures:
        raise _Failure(
            "give the producers' trusted public keys (--keys FILE or EVENT_TRUSTED_KEYS_FILE): "
            "without them nothing shows who wrote the events; --no-signatures skips that check"
        )
    if args.no_signatures:
        return None
    try:
        return load_trusted_keys(Path(args.keys))
    except ValueError as error:
        raise _Failure(str(error)) from None


def _verify(args: argparse.Namespace) -> int:
    keys = _trusted_keys(args)
    with collection_paused():
        verifier = Verifier(args.hackathon, keys=keys)
        source, missing = _feed(args, verifier)
        report = verifier.result(source=source, missing_topics=missing)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render(report))
    return CLEAN if report.clean else FOUND


def _rebuild(args: argparse.Namespace) -> int:
    # Imported here: it loads SQLAlchemy, Alembic and a service's tables, which export and
    # verify do not need.
    from audit.rebuild import RebuildError, rebuild_service, render_rebuild

    keys = _trusted_keys(args)
    records, _source, _missing = _read(args)
    try:
        report = asyncio.run(
            rebuild_service(
                args.service,
                records,
                args.database,
                live_url=args.live,
                hackathons=args.hackathon,
                keys=keys,
            )
        )
    except RebuildError as error:
        raise _Failure(str(error)) from None
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        sys.stdout.write(render_rebuild(report))
    return FOUND if report.found else CLEAN


def _sample(args: argparse.Namespace) -> int:
    log = LogBuilder(prefix=args.topic_prefix)
    first = judged_hackathon(log, conflicts_changed=True)
    for _ in range(args.hackathons - 1):
        judged_hackathon(log, organizer=first.organizer, conflicts_changed=True)
    with _output(args.out) as out:
        count = write_jsonl(log.records(), out)
    print(f"wrote a sample log of {count} records", file=sys.stderr)
    return CLEAN


def _guarded(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            code: int = handler(args)
            return code
        except _Failure as error:
            print(f"audit: {error}", file=sys.stderr)
            return FAILED

    return run


def add_commands(commands: Any) -> None:
    """Add ``audit`` and its subcommands to the ``hackathon`` tool's subparsers."""
    audit = commands.add_parser(
        "audit",
        help="export, verify and replay the event log",
        description="Read every event topic from offset 0 (or an export file) and check it "
        "without trusting any service. " + (__doc__ or "").split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")

    export = sub.add_parser(
        "export", help="write every event of every event topic to a JSON Lines file"
    )
    export.add_argument("--out", "-o", help="file to write (default: stdout)")
    _broker_options(export)
    _progress_options(export)
    export.set_defaults(handler=_guarded(_export))

    check = sub.add_parser(
        "verify", help="check the log: schema, chains, references, rules and results"
    )
    check.add_argument("--from", dest="source", metavar="FILE", help="an export ('-': stdin)")
    check.add_argument(
        "--hackathon",
        action="append",
        metavar="ID",
        help="only this hackathon's aggregates (and the accounts they refer to); repeatable",
    )
    check.add_argument("--json", action="store_true", help="the report as JSON")
    _signature_options(
        check, "every event's signature is checked and each unsigned or forged one named"
    )
    _broker_options(check)
    _progress_options(check)
    check.set_defaults(handler=_guarded(_verify))

    rebuild = sub.add_parser(
        "rebuild", help="replay the log into a fresh database and compare it with the live one"
    )
    rebuild.add_argument(
        "service", choices=REBUILDABLE, metavar="SERVICE", help="scoring or submissions"
    )
    rebuild.add_argument(
        "--database", required=True, metavar="URL", help="an empty database to rebuild into"
    )
    rebuild.add_argument("--live", metavar="URL", help="the service's live database to compare")
    rebuild.add_argument("--from", dest="source", metavar="FILE", help="an export ('-': stdin)")
    rebuild.add_argument("--hackathon", action="append", metavar="ID", help="compare only these")
    rebuild.add_argument("--json", action="store_true", help="the report as JSON")
    _signature_options(
        rebuild,
        "only events whose signature checks are replayed; each refused one is named, and the "
        "exit status is 1",
    )
    _broker_options(rebuild)
    _progress_options(rebuild)
    rebuild.set_defaults(handler=_guarded(_rebuild))

    sample = sub.add_parser("sample", help="write a clean sample log (to try the audit)")
    sample.add_argument("--out", "-o", help="file to write (default: stdout)")
    sample.add_argument("--hackathons", type=int, default=1, help="how many hackathons")
    sample.add_argument("--topic-prefix", default="", help="topic name prefix")
    sample.set_defaults(handler=_guarded(_sample))
