"""What the fault scenarios of databases in trouble, poison, contention and rebalance share:
platforms of their own (real processes, on SQLite or PostgreSQL), the faults themselves (an
SQLite write lock held by another connection, PostgreSQL made read-only, PostgreSQL reached
through a TCP forwarder that can be stopped), a client that retries the way clients do (the
same ``Idempotency-Key``, only on a ``503`` or a key still in use), and the checks made from
outside against what the platform acknowledged: feeds and e-mails exact, every event once on
its topic, the dead-letter topics, ``audit verify``."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from audit.verify import verify
from hackathon_cli.platform import SERVICES, Platform, PlatformConfig
from hackathon_shared.ports import free_port
from hackathon_shared.signing import load_trusted_keys
from hackathon_shared.topics import ALL_TOPICS, EVENT_TOPICS, dlq
from tests.database_fixtures import (
    POSTGRES_URL,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    require_postgres,
)
from tests.journey_helpers import Person, every_item, platform_log
from tests.mail_fixtures import SmtpServer
from tests.platform_fixtures import ORGANIZER, Api
from tests.polling import wait_until

Json = dict[str, Any]

ARRIVAL = 30.0
"""How long a check waits for what is asynchronous by nature (a notification, an e-mail)."""


# --------------------------------------------------------------------------------------------
# Platforms of their own
# --------------------------------------------------------------------------------------------


def fault_env(smtp: SmtpServer) -> dict[str, str]:
    return {
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "DELIVERY_BACKOFF_SECONDS": "0.3",
        "DELIVERY_MAX_ATTEMPTS": "6",
        "DELIVERY_INTERVAL_SECONDS": "0.2",
        # Every request of a scenario comes from one address.
        "RATE_LIMIT_SIGN_UP": "100000/minute",
        "RATE_LIMIT_SIGN_IN": "100000/minute",
        "RATE_LIMIT_WRITES": "100000/minute",
    }


@dataclass
class RunningPlatform:
    platform: Platform
    # service -> the PostgreSQL database's name (empty on SQLite)
    postgres: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        self.platform.stop()
        for name in self.postgres.values():
            drop_postgres_database(name)


def start_platform(
    data_dir: Path,
    bootstrap: str,
    smtp: SmtpServer,
    *,
    postgresql: bool = False,
    replicas: Mapping[str, int] | None = None,
    url_override: Mapping[str, str] | None = None,
) -> RunningPlatform:
    """A whole platform as real processes on the session's broker, with a topic prefix of its
    own; on PostgreSQL one database per service (``url_override`` replaces a service's URL,
    e.g. by one through a forwarder)."""
    postgres: dict[str, str] = {}
    urls: dict[str, str] = {}
    if postgresql:
        require_postgres()
        postgres = {name: create_postgres_database() for name in SERVICES}
        urls = {name: postgres_url(db) for name, db in postgres.items()}
    urls.update(url_override or {})
    config = PlatformConfig(
        data_dir=data_dir,
        gateway_port=free_port(),
        bootstrap_servers=bootstrap,
        topic_prefix=f"{data_dir.name}-{secrets.token_hex(3)}.",
        organizer_email=ORGANIZER[0],
        organizer_password=ORGANIZER[1],
        database_urls=urls,
        extra_env=fault_env(smtp),
        replicas=dict(replicas or {}),
    )
    platform = Platform(config)
    try:
        platform.start()
    except BaseException:
        for name in postgres.values():
            drop_postgres_database(name)
        raise
    return RunningPlatform(platform, postgres)


def log_tail(platform: Platform, name: str, lines: int = 30) -> str:
    path = platform.config.data_dir / "logs" / f"{name}.log"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def log_lines(platform: Platform, name: str, *needles: str) -> list[str]:
    """The lines of a process's log that contain every needle."""
    path = platform.config.data_dir / "logs" / f"{name}.log"
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if all(n in line for n in needles)]


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


@contextmanager
def sqlite_write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another writer on the service's SQLite file: ``BEGIN IMMEDIATE`` held until the block
    ends (then rolled back: it wrote nothing)."""
    assert path.exists(), path
    connection = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield connection
    finally:
        with suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
        connection.close()


async def _admin(statement: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        return list(await connection.fetch(statement, *args))
    finally:
        await connection.close()


async def terminate_backends(database: str) -> int:
    """End every session on ``database``: its clients reconnect, and new sessions take the
    database's current settings."""
    rows = await _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    return len(rows)


async def set_read_only(database: str, read_only: bool) -> None:
    """``default_transaction_read_only`` for new sessions of ``database``; the current ones
    are ended, so that the service's next connections have the setting."""
    if read_only:
        await _admin(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
    else:
        await _admin(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
    await terminate_backends(database)


class Forwarder:
    """A TCP forwarder on 127.0.0.1 to a target port, in a thread of its own (the platform's
    processes connect through it while the test's event loop may be busy or not running).
    ``stop`` closes the listening socket and every connection: the target is unreachable
    (refused); ``start`` listens again on the same port."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            with suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            with suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    def start(self) -> None:
        self._call(self._start())

    def stop(self) -> None:
        self._call(self._stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def refuses(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", self.port)) != 0


def postgres_port() -> int:
    return urlsplit(POSTGRES_URL).port or 5432


# --------------------------------------------------------------------------------------------
# A client that retries as clients do
# --------------------------------------------------------------------------------------------

RETRYABLE_409 = ("idempotency-key-in-use",)


def problem_type(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return ""
    kind = body.get("type", "") if isinstance(body, dict) else ""
    return str(kind).rsplit("/", 1)[-1]


def retryable(answer: httpx.Response) -> bool:
    """What a client may send again with the same key: a 503 (it decided nothing), a 504 (it
    does not know) and a key whose first request is still being carried out."""
    if answer.status_code in (503, 504):
        return True
    return answer.status_code == 409 and problem_type(answer) in RETRYABLE_409


@dataclass
class Attempted:
    final: httpx.Response
    seen: list[str]  # "503 database-busy", ... for every answer, the final one included
    elapsed: float


async def write_until_final(
    api: Api,
    method: str,
    path: str,
    auth: Mapping[str, str],
    body: Json | None,
    *,
    key: str | None = None,
    timeout: float = 30.0,
    interval: float = 0.5,
) -> Attempted:
    """Send a write with an ``Idempotency-Key`` and send it again, with the same key, while
    the answer is retryable or the connection was lost; returns the final answer and every
    status seen."""
    key = key or str(uuid.uuid4())
    headers = {**auth, "Idempotency-Key": key}
    seen: list[str] = []
    started = time.monotonic()

    async def final() -> httpx.Response | None:
        try:
            answer = await api.http.request(method, path, headers=headers, json=body)
        except httpx.TimeoutException:
            seen.append("client timeout")
            return None
        except httpx.TransportError as error:
            # The connection dropped (a kept-alive one the gateway closed as it was reused,
            # say): the write may or may not have been carried out, and the same key makes
            # sending it again safe, as the README tells clients to.
            seen.append(f"connection lost: {type(error).__name__}")
            return None
        seen.append(f"{answer.status_code} {problem_type(answer)}".strip())
        return None if retryable(answer) else answer

    answer = await wait_until(
        final,
        timeout=timeout,
        interval=interval,
        message=lambda: f"{method} {path} never answered finally: {seen}",
    )
    assert answer is not None  # wait_until returns only a truthy value
    return Attempted(answer, seen, time.monotonic() - started)


# --------------------------------------------------------------------------------------------
# Checks from outside
# --------------------------------------------------------------------------------------------


async def feed(api: Api, person: Person) -> list[Json]:
    return await every_item(api, "/notifications", person.auth)


async def assert_feeds_and_mails_exact(
    api: Api, smtp: SmtpServer, expected: Sequence[tuple[Person, Counter[str]]]
) -> None:
    """Each person's feed holds exactly the expected kinds, each as often as expected (waited
    for: notifications arrive in their own time), and the person's e-mails are exactly the
    feed's (by subject), no more and no fewer."""
    feeds: dict[str, Counter[str]] = {}

    async def feeds_reached() -> bool:
        for person, kinds in expected:
            got = Counter(n["kind"] for n in await feed(api, person))
            feeds[person.name] = got
            if got != kinds:
                return False
        return True

    await wait_until(
        feeds_reached,
        timeout=ARRIVAL,
        interval=0.25,
        message=lambda: (
            "feeds not as expected: "
            + json.dumps(
                {
                    p.name: {"expected": dict(k), "got": dict(feeds.get(p.name, {}))}
                    for p, k in expected
                }
            )
        ),
    )
    subjects: dict[str, tuple[Counter[str], Counter[str]]] = {}

    async def mails_reached() -> bool:
        for person, _kinds in expected:
            wanted = Counter(n["subject"] for n in await feed(api, person))
            got = Counter(str(m["Subject"]) for m in smtp.mailbox.to(person.email))
            subjects[person.name] = (wanted, got)
            if wanted != got:
                return False
        return True

    await wait_until(
        mails_reached,
        timeout=ARRIVAL,
        interval=0.25,
        message=lambda: f"e-mails not the feeds': {subjects}",
    )
    # Nothing more came meanwhile (a double that was still on its way).
    assert await feeds_reached(), feeds


@dataclass(frozen=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def event_id(self) -> str | None:
        try:
            body = json.loads(self.value or b"")
        except ValueError:
            return None
        return str(body.get("event_id")) if isinstance(body, dict) else None


async def raw_records(platform: Platform, topics: Sequence[str]) -> list[RawRecord]:
    """Every record now on the platform's (unprefixed) ``topics``, undecoded, read up to the
    end each partition had when the reading began and on until a fetch brings nothing (the
    embedded broker's end offsets can fall short of the log: see journey_helpers)."""
    names = [platform.config.topic_prefix + t for t in topics]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=platform.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[RawRecord] = []
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(name, number)
            for name in names
            for number in sorted(consumer.partitions_for_topic(name) or ())
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        reached = False

        async def done() -> bool:
            nonlocal reached
            batches = await consumer.getmany(timeout_ms=300)
            for batch in batches.values():
                for r in batch:
                    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in r.headers}
                    found.append(RawRecord(r.topic, r.partition, r.offset, r.key, r.value, headers))
            if not reached:
                at = [await consumer.position(p) for p in partitions]
                reached = all(a >= ends[p] for a, p in zip(at, partitions, strict=True))
                return False
            return not batches

        await wait_until(done, timeout=ARRIVAL, message=f"reading {names} to their end")
    finally:
        await consumer.stop()
    return found


async def dead_letters(platform: Platform) -> list[RawRecord]:
    """Every record of every dead-letter topic of the platform."""
    return await raw_records(platform, [dlq(t) for t in ALL_TOPICS])


async def copies_of_events(platform: Platform, topic: str) -> Counter[str]:
    """How many times each event id is on ``topic``."""
    return Counter(r.event_id or "?" for r in await raw_records(platform, [topic]))


async def assert_every_event_once(platform: Platform) -> None:
    """No event is on its topic twice (a relay that published a row again)."""
    for topic in EVENT_TOPICS:
        doubled = {e: n for e, n in (await copies_of_events(platform, topic)).items() if n > 1}
        assert not doubled, f"{topic}: events published more than once: {doubled}"


def describe(records: Sequence[RawRecord]) -> list[str]:
    return [
        f"{r.topic}@{r.offset} group={r.headers.get('x-consumer-group')} "
        f"error={r.headers.get('x-error', '')[:300]}"
        for r in records
    ]


async def assert_no_dead_letters(platform: Platform, before: Sequence[RawRecord] = ()) -> None:
    """Nothing on any dead-letter topic, but what was there ``before`` (the scenario's
    platform is shared by the scenarios of its module)."""
    earlier = {(r.topic, r.partition, r.offset) for r in before}
    found = [
        r for r in await dead_letters(platform) if (r.topic, r.partition, r.offset) not in earlier
    ]
    assert not found, describe(found)


async def assert_audit_clean(platform: Platform, hackathons: Sequence[str]) -> None:
    """``audit verify`` over the platform's log with its public keys: clean for these
    hackathons (notes, such as an identical copy redelivered, are no findings)."""
    records = await platform_log(platform)
    keys = load_trusted_keys(platform.keys.trusted)
    report = verify(records, hackathons=list(hackathons), keys=keys)
    assert report.clean, [f"{f.check}/{f.kind}: {f}" for f in report.findings][:20]


def team_expectations(
    captain: Person, member: Person, versions: int
) -> list[tuple[Person, Counter[str]]]:
    """The feeds of a team of two (``team_of(captain, member)``) that submitted ``versions``
    versions: a welcome each, the team's registration for the captain, the join for both,
    one ``submission_received`` per version for both."""
    captains = Counter({"welcome": 1, "team_registered": 1, "team_member_joined": 1})
    members = Counter({"welcome": 1, "team_member_joined": 1})
    if versions:
        captains["submission_received"] = versions
        members["submission_received"] = versions
    return [(captain, captains), (member, members)]
