"""The fault suite's workload, its ledger of acknowledged writes, and the checks made from
outside once the fault is over.

A scenario starts a platform of its own (``fault_platform``), runs a small hackathon through
the gateway (``run_hackathon``: people sign up and register, teams form, versions are
submitted, a judge scores, the results are published), and injects its fault at a stage of
that run (``Fault``: after so many writes of the stage were acknowledged, its action runs
beside the writes still going). The client (``Client``) behaves as a careful client does:
every write carries an ``Idempotency-Key``, and a write that timed out, lost its connection,
or was answered ``502``/``503``/``504`` (or ``409 idempotency-key-in-use``) is sent again with
the same key until ``WRITE_RETRY_SECONDS`` have passed. A 2xx answer (``202`` included: it is
recorded, only not yet propagated) is an acknowledgement and goes into the ``Ledger``; a write
that never got a final answer is *uncertain*: its effect may exist once, or not at all.

The checks (``check_all`` and the functions it calls) then compare, from outside:
- the API's state with the ledger: every acknowledged effect once, no uncertain one twice;
- every person's feed (``GET /notifications``) with what the notification rules
  (shared/API.md, "Notifications") make of those effects: exact, per kind;
- every person's e-mails (the SMTP receiver) with their feed: one e-mail per notification,
  by ``Message-ID``, same subjects;
- ``audit verify`` over the platform's log with its trusted keys: clean (a ``redelivered``
  note is no finding);
- ``audit rebuild`` of submissions' and scoring's read models from the log: equal to the live
  databases;
- the dead-letter topics: empty.

Each check returns the problems it found as text, so that a scenario reports all of them at
once (``assert not problems``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from audit.report import Report, render
from audit.verify import verify
from hackathon_cli.platform import SERVICES, Platform, PlatformConfig
from hackathon_shared.ports import free_port
from hackathon_shared.signing import load_trusted_keys
from hackathon_shared.topics import ALL_TOPICS, dlq
from tests.database_fixtures import (
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    require_postgres,
)
from tests.faults.trouble_support import fault_env
from tests.journey_helpers import platform_log
from tests.mail_fixtures import SmtpServer
from tests.platform_fixtures import live_database_url
from tests.polling import wait_until

__all__ = [
    "ORGANIZER",
    "Client",
    "Fault",
    "Ledger",
    "Outcome",
    "Size",
    "Write",
    "check_all",
    "check_audit",
    "check_dlqs_empty",
    "check_emails",
    "check_feeds",
    "check_rebuilds",
    "check_state",
    "describe",
    "duplicate_records",
    "expected_feeds",
    "fault_platform",
    "kill",
    "kill_broker",
    "log_lines",
    "restart_broker",
    "restart_dead",
    "run_hackathon",
    "summary",
]

Json = dict[str, Any]
Auth = dict[str, str]

ORGANIZER = ("fault-organizer@example.org", "fault organizer password")
PASSWORD = "a good long password"
WRITE_RETRY_SECONDS = 30.0
"""How long a client keeps sending one write again (same key) before it gives up on it."""
REQUEST_TIMEOUT_SECONDS = 20.0
"""One request's bound: above the gateway's upstream timeout (15 s)."""
ARRIVAL_SECONDS = 30.0
"""How long a check waits for what is asynchronous by nature (notifications, e-mails, the
results reaching the log)."""
IN_USE_RETRY_SECONDS = 5.0
"""How long a client keeps sending a write answered ``409 idempotency-key-in-use``: a key
claimed by a request that died with its process stays in use for a minute
(``hackathon_shared.idempotency.STALE_SECONDS``), longer than a scenario lasts, so the write
is left uncertain sooner."""
TRANSIENT_STATUSES = frozenset({502, 503, 504})

# --------------------------------------------------------------------------------------------
# The platform
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def fault_platform(
    data_dir: Path,
    smtp: SmtpServer,
    database: str = "sqlite",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Platform]:
    """A platform of its own: the embedded broker on a free port (so that a scenario may kill
    it), a topic prefix of its own, the services on SQLite files in ``data_dir`` or, with
    ``database="postgresql"``, on one fresh PostgreSQL database each (dropped afterwards)."""
    databases: dict[str, str] = {}
    if database == "postgresql":
        require_postgres()
        databases = {name: postgres_url(create_postgres_database()) for name in SERVICES}
    elif database != "sqlite":
        raise ValueError(f"database: sqlite or postgresql, not {database!r}")
    config = PlatformConfig(
        data_dir=data_dir,
        gateway_port=free_port(),
        broker_port=None,
        bootstrap_servers=None,
        topic_prefix=f"faults-{secrets.token_hex(4)}.",
        organizer_email=ORGANIZER[0],
        organizer_password=ORGANIZER[1],
        database_urls=databases,
        extra_env={**fault_env(smtp), **(extra_env or {})},
    )
    platform = Platform(config)
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
        for url in databases.values():
            drop_postgres_database(url.rsplit("/", 1)[1])


def kill(platform: Platform, name: str) -> int:
    """SIGKILL the process called ``name`` (a service, or ``gateway``); returns its pid."""
    [process] = [p for p in platform.processes if p.name == name]
    pid = process.popen.pid
    os.kill(pid, signal.SIGKILL)
    process.popen.wait(timeout=10)
    return pid


def kill_broker(platform: Platform) -> int:
    """SIGKILL the embedded broker, and with it its log (memory only); returns its pid."""
    broker = platform.broker
    assert broker is not None and broker.pid is not None, "the platform runs no embedded broker"
    pid = broker.pid
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.waitpid(pid, 0)
    return pid


async def _answers_as(url: str, service: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            answer = await client.get(url + "/readyz")
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.json().get("service") == service


async def restart_dead(
    platform: Platform,
    names: Sequence[str],
    timeout: float = 40.0,
    said: list[str] | None = None,
    pids_before: dict[str, int] | None = None,
) -> list[str]:
    """Do what the run command does (``Platform.supervise``) until every process in ``names``
    has died, has been started again and answers ``/readyz`` as its service; returns the
    supervisor's lines (also appended to ``said``). A process that has not died yet (one that
    stops itself on noticing a lost log) is waited for. ``pids_before``: the processes' ids
    before the fault, when the supervisor may have started them again already (it stops and
    starts every service when it starts the embedded broker again)."""
    lines = said if said is not None else []
    first_pid = pids_before or {p.name: p.popen.pid for p in platform.processes if p.name in names}
    assert set(first_pid) == set(names), f"no such processes: {set(names) - set(first_pid)}"

    async def all_back() -> bool:
        lines.extend(platform.supervise())
        for process in platform.processes:
            if process.name not in names:
                continue
            if process.popen.pid == first_pid[process.name] or process.popen.poll() is not None:
                return False
            if not await _answers_as(process.url, process.service):
                return False
        return True

    await wait_until(
        all_back,
        timeout=timeout,
        interval=0.2,
        message=lambda: f"{list(names)} not started again and ready; supervisor said {lines}",
    )
    return lines


async def restart_broker(
    platform: Platform, timeout: float = 20.0, said: list[str] | None = None
) -> None:
    """``Platform.supervise`` until the embedded broker runs again (empty, on its port)."""
    lines = said if said is not None else []
    old = platform.broker

    def back() -> bool:
        lines.extend(platform.supervise())
        return (
            platform.broker is not old and platform.broker is not None and platform.broker.running
        )

    await wait_until(back, timeout=timeout, interval=0.1, message=lambda: f"broker back: {lines}")


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


@dataclass
class Write:
    """One write as the client saw it: the answers of its attempts, and how it ended."""

    method: str
    path: str
    key: str
    statuses: list[int | str] = field(default_factory=list)
    status: int | None = None  # the final answer; None: no final answer (uncertain)
    body: Any = None
    replayed: bool = False
    answer_lost: bool = False  # 409 idempotency-key-answer-lost: carried out, answer gone

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def uncertain(self) -> bool:
        return self.status is None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} (attempts: {self.statuses})"


def _problem_kind(answer: httpx.Response) -> str:
    if not answer.headers.get("content-type", "").startswith("application/problem+json"):
        return ""
    return str(answer.json().get("type", "")).rsplit("/", 1)[-1]


class Client:
    """The gateway's API v1, as a client that retries a write with the same
    ``Idempotency-Key`` after a timeout, a lost connection, a ``502``/``503``/``504`` or a
    ``409 idempotency-key-in-use``, and gives up after ``retry_seconds``. Every write is kept
    in ``writes``."""

    def __init__(self, platform: Platform, retry_seconds: float = WRITE_RETRY_SECONDS) -> None:
        self.platform = platform
        self.retry_seconds = retry_seconds
        self.http = httpx.AsyncClient(
            base_url=platform.gateway_url + "/api/v1", timeout=REQUEST_TIMEOUT_SECONDS
        )
        self.writes: list[Write] = []

    async def close(self) -> None:
        await self.http.aclose()

    async def write(
        self, method: str, path: str, auth: Auth | None = None, json: Json | None = None
    ) -> Write:
        write = Write(method, path, str(uuid.uuid4()))
        self.writes.append(write)
        headers = {**(auth or {}), "Idempotency-Key": write.key}
        deadline = time.monotonic() + self.retry_seconds
        in_use_since: float | None = None
        while True:
            wait = 0.2
            try:
                answer = await self.http.request(method, path, headers=headers, json=json)
            except httpx.TransportError as error:
                write.statuses.append(type(error).__name__)
            else:
                write.statuses.append(answer.status_code)
                if _problem_kind(answer) == "idempotency-key-answer-lost":
                    # Carried out by a process that died before answering: the effect is
                    # there once, its answer is not. Kept as uncertain (its answer unknown;
                    # what follows from it is not asked for), and checked at most once.
                    write.answer_lost = True
                    return write
                if not _transient(answer):
                    write.status = answer.status_code
                    write.body = answer.json() if answer.content else None
                    write.replayed = answer.headers.get("idempotent-replayed") == "true"
                    return write
                wait = _retry_after(answer)
                if answer.status_code == 409 and in_use_since is None:
                    in_use_since = time.monotonic()
                if in_use_since is not None and (
                    time.monotonic() - in_use_since >= IN_USE_RETRY_SECONDS
                ):
                    return write  # uncertain: its key is held by a request that died
            if time.monotonic() + wait >= deadline:
                return write  # uncertain
            await asyncio.sleep(wait)  # the client's backoff, as Retry-After asks

    async def read(self, path: str, auth: Auth | None = None, **params: Any) -> Any:
        """A GET, sent again after a ``503`` or a lost connection until the retry bound; any
        other answer than 200 is a failure."""
        deadline = time.monotonic() + self.retry_seconds
        last: object = None
        while time.monotonic() < deadline:
            try:
                answer = await self.http.get(path, headers=auth or {}, params=params)
            except httpx.TransportError as error:
                last = error
            else:
                if not _transient(answer):
                    assert answer.status_code == 200, f"GET {path}: {answer.text}"
                    return answer.json()
                last = answer.text
            await asyncio.sleep(0.2)
        raise AssertionError(f"GET {path} never answered: {last}")

    async def every_item(self, path: str, auth: Auth | None = None) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = await self.read(path, auth, **params)
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    async def sign_in(self, email: str, password: str = PASSWORD) -> Auth | None:
        """A token for the account, or None when no account has that e-mail (401). Sign-ins
        change nothing, so they are simply sent again after a transient failure."""
        deadline = time.monotonic() + self.retry_seconds
        while time.monotonic() < deadline:
            try:
                answer = await self.http.post(
                    "/auth/token", json={"email": email, "password": password}
                )
            except httpx.TransportError:
                await asyncio.sleep(0.2)
                continue
            if answer.status_code == 401:
                return None
            if not _transient(answer):
                assert answer.status_code == 200, answer.text
                return {"Authorization": f"Bearer {answer.json()['access_token']}"}
            await asyncio.sleep(0.2)
        raise AssertionError(f"signing in as {email} never answered")


def _transient(answer: httpx.Response) -> bool:
    if answer.status_code in TRANSIENT_STATUSES:
        return True
    if answer.status_code == 409 and answer.headers.get("content-type", "").startswith(
        "application/problem+json"
    ):
        return str(answer.json().get("type", "")).endswith("/idempotency-key-in-use")
    return False


def _retry_after(answer: httpx.Response) -> float:
    try:
        return min(max(float(answer.headers.get("retry-after", "0.2")), 0.2), 1.0)
    except ValueError:
        return 0.2


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    email: str
    signed_up: Write | None = None
    registered: Write | None = None
    auth: Auth | None = None
    account_id: str | None = None


@dataclass
class Team:
    name: str
    captain: Person
    created: Write | None = None
    team_id: str | None = None
    invite_code: str | None = None
    joins: list[tuple[Person, Write]] = field(default_factory=list)
    versions: list[tuple[Person, str, Write]] = field(default_factory=list)  # author, title


@dataclass
class Ledger:
    """What the workload asked for and what the platform answered."""

    hackathon_id: str = ""
    challenge_ids: list[str] = field(default_factory=list)
    organizer: Auth = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    judge: Person | None = None
    teams: list[Team] = field(default_factory=list)
    scores: list[tuple[str, Write]] = field(default_factory=list)  # submission id, write
    results: Write | None = None
    problems: list[str] = field(default_factory=list)  # answers no fault excuses

    def expect(self, write: Write, *statuses: int) -> bool:
        """True when the write was acknowledged as expected; an answer that is neither that
        nor uncertain is a problem. A ``202`` acknowledges a write too: recorded, its events
        only not yet in the log when it was answered (the broker going away, say)."""
        if write.status in statuses or (
            write.status == 202 and any(200 <= status < 300 for status in statuses)
        ):
            return True
        if not write.uncertain:
            self.problems.append(f"unexpected answer: {write}: {write.body}")
        return False

    def uncertain(self, writes: Sequence[Write]) -> list[Write]:
        return [w for w in writes if w.uncertain]


@dataclass
class Size:
    """The workload: ``teams`` teams of ``members`` people (the captain included), each
    submitting ``versions`` versions, one judge scoring every submission ``score_rounds``
    times; at most ``concurrency`` requests at a time."""

    teams: int = 4
    members: int = 3
    versions: int = 2
    score_rounds: int = 2
    concurrency: int = 6


STAGES = ("people", "teams", "submissions", "scores")


@dataclass
class Fault:
    """Run ``action`` beside the writes of ``stage`` once ``after`` of them were
    acknowledged (``after=0``: before them, see ``begin``); the stage ends when its writes
    and the action are done."""

    stage: str
    action: Callable[[], Coroutine[Any, Any, None]]
    after: int = 3
    task: asyncio.Task[None] | None = None
    acknowledged: int = 0

    def __post_init__(self) -> None:
        assert self.stage in STAGES, self.stage

    async def begin(self, stage: str) -> None:
        """With ``after=0``, the action runs before the stage's first write, and the stage
        waits for it: a fault between two bursts."""
        if stage == self.stage and self.after == 0:
            self.task = asyncio.create_task(self.action())
            await self.task

    def note(self, stage: str, write: Write) -> None:
        if stage != self.stage or not write.acknowledged or self.task is not None:
            return
        self.acknowledged += 1
        if self.acknowledged >= self.after:
            self.task = asyncio.create_task(self.action())

    async def finish(self, stage: str) -> None:
        if stage != self.stage:
            return
        assert self.task is not None, f"the fault never ran: {self.after} writes of {stage}"
        await self.task


async def run_hackathon(
    client: Client, size: Size | None = None, fault: Fault | None = None
) -> Ledger:
    """A small hackathon from start to results, through ``client``, with ``fault`` injected
    at its stage. Returns the ledger; set-up steps that no fault touches must succeed."""
    size = size or Size()
    ledger = Ledger()
    gate = asyncio.Semaphore(size.concurrency)

    def noted(stage: str, write: Write) -> Write:
        if fault is not None:
            fault.note(stage, write)
        return write

    async def step(
        stage: str, method: str, path: str, auth: Auth | None, body: Json | None
    ) -> Write:
        async with gate:
            return noted(stage, await client.write(method, path, auth, body))

    organizer = await client.sign_in(*ORGANIZER)
    assert organizer is not None, "the organizer cannot sign in"
    ledger.organizer = organizer
    created = await client.write(
        "POST",
        "/hackathons",
        organizer,
        {
            "name": f"Fault run {secrets.token_hex(4)}",
            "challenges": [{"title": "Resilience"}],
            "min_team_size": 1,
            "max_team_size": size.members,
            "max_teams": size.teams + 2,
            "submission_deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "rubric": {
                "criteria": [{"key": "impact", "weight": 2}, {"key": "feasibility", "weight": 1}],
                "normalization": "none",
            },
            "judges_per_submission": 1,
            "awards": [{"name": "First prize", "rank": 1, "kind": "grant", "amount": 1000}],
        },
    )
    assert created.status == 201, created
    ledger.hackathon_id = created.body["hackathon_id"]
    ledger.challenge_ids = [c["challenge_id"] for c in created.body["challenges"]]
    hid = ledger.hackathon_id

    async def phase(to: str) -> None:
        moved = await client.write("POST", f"/hackathons/{hid}/phase", organizer, {"phase": to})
        assert moved.status == 200, f"{moved}: {moved.body}"

    await phase("registration")

    # -- people: sign up, sign in, register ----------------------------------------------
    tag = secrets.token_hex(3)
    ledger.people = [
        Person(f"P{i}", f"fault-{tag}-{i}@example.org") for i in range(size.teams * size.members)
    ]
    ledger.judge = Person("Judge", f"fault-{tag}-judge@example.org")

    if fault is not None:
        await fault.begin("people")

    async def person_joins(person: Person) -> None:
        body = {"email": person.email, "password": PASSWORD, "display_name": person.name}
        person.signed_up = await step("people", "POST", "/accounts", None, body)
        if person.signed_up.uncertain:
            person.auth = await client.sign_in(person.email)  # the account may exist
            return
        if not ledger.expect(person.signed_up, 201):
            return
        person.account_id = person.signed_up.body["account_id"]
        async with gate:
            person.auth = await client.sign_in(person.email)
        if person is ledger.judge:
            return
        registration = {"sector": "academia", "consent": True}
        path = f"/hackathons/{hid}/registrations"
        person.registered = await step("people", "POST", path, person.auth, registration)
        ledger.expect(person.registered, 201)

    await asyncio.gather(*(person_joins(p) for p in [*ledger.people, ledger.judge]))
    if fault is not None:
        await fault.finish("people")

    # -- teams: a captain creates, the others join ----------------------------------------
    ledger.teams = [
        Team(f"Fault team {tag} {t}", ledger.people[t * size.members]) for t in range(size.teams)
    ]

    def ready(person: Person) -> bool:
        return person.registered is not None and person.registered.acknowledged

    if fault is not None:
        await fault.begin("teams")

    async def team_forms(number: int, team: Team) -> None:
        if not ready(team.captain):
            return
        body = {"name": team.name, "challenge_id": ledger.challenge_ids[0]}
        path = f"/hackathons/{hid}/teams"
        team.created = await step("teams", "POST", path, team.captain.auth, body)
        if not ledger.expect(team.created, 201):
            return
        team.team_id = team.created.body["team_id"]
        team.invite_code = team.created.body["invite_code"]
        for member in ledger.people[number * size.members + 1 : (number + 1) * size.members]:
            if not ready(member):
                continue
            path = f"/teams/{team.team_id}/members"
            joined = await step(
                "teams", "POST", path, member.auth, {"invite_code": team.invite_code}
            )
            team.joins.append((member, joined))
            if not ledger.expect(joined, 201) and joined.uncertain:
                return  # who is in the team is not known: the next joins would not be either

    await asyncio.gather(*(team_forms(n, t) for n, t in enumerate(ledger.teams)))
    if fault is not None:
        await fault.finish("teams")

    judge = ledger.judge
    if judge.account_id is not None:
        enrolled = await client.write(
            "POST", f"/hackathons/{hid}/judges", organizer, {"email": judge.email, "conflicts": []}
        )
        assert enrolled.status == 201, f"{enrolled}: {enrolled.body}"
    await phase("hacking")

    # -- submissions: each team's members take turns ---------------------------------------
    if fault is not None:
        await fault.begin("submissions")

    async def team_submits(team: Team) -> None:
        if team.team_id is None:
            return
        authors = [team.captain, *(m for m, w in team.joins if w.acknowledged)]
        for version in range(size.versions):
            author = authors[version % len(authors)]
            title = f"{team.name} v{version + 1}"
            body = {"title": title, "summary": "Keeps going.", "kind": "technology"}
            path = f"/teams/{team.team_id}/submission"
            written = await step("submissions", "PUT", path, author.auth, body)
            team.versions.append((author, title, written))
            ledger.expect(written, 201 if version == 0 else 200)

    await asyncio.gather(*(team_submits(t) for t in ledger.teams))
    if fault is not None:
        await fault.finish("submissions")

    # -- scores --------------------------------------------------------------------------
    await phase("judging")
    assigned = await client.write("POST", f"/hackathons/{hid}/assignments", organizer)
    assert assigned.status == 200, f"{assigned}: {assigned.body}"
    submission_ids = [a["submission_id"] for a in assigned.body["assignments"]]

    if fault is not None:
        await fault.begin("scores")

    async def judge_scores(number: int, submission_id: str) -> None:
        for round_ in range(size.score_rounds):
            mark = float(1 + (number + round_) % 9)
            body = {"scores": {"impact": mark, "feasibility": 5.0}}
            path = f"/submissions/{submission_id}/scores/me"
            scored = await step("scores", "PUT", path, judge.auth, body)
            ledger.scores.append((submission_id, scored))
            ledger.expect(scored, 200)

    if judge.auth is not None:
        await asyncio.gather(*(judge_scores(n, s) for n, s in enumerate(submission_ids)))
    if fault is not None:
        await fault.finish("scores")

    ledger.results = await client.write("POST", f"/hackathons/{hid}/results", organizer)
    ledger.expect(ledger.results, 201)
    return ledger


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


@dataclass
class Resolved:
    """The effects as the checks found them: every acknowledged one, and the uncertain ones
    that took place."""

    accounts: dict[str, Person] = field(default_factory=dict)  # email -> person with account
    members: dict[str, list[Person]] = field(default_factory=dict)  # team id -> in join order
    versions: dict[str, int] = field(default_factory=dict)  # team id -> versions
    ranked: list[str] = field(default_factory=list)  # team ids in the results


async def check_state(client: Client, ledger: Ledger) -> tuple[list[str], Resolved]:
    """The API's state against the ledger; returns the problems and the effects found."""
    problems: list[str] = list(ledger.problems)
    found = Resolved()
    hid = ledger.hackathon_id
    for person in [*ledger.people, *([ledger.judge] if ledger.judge else [])]:
        if person.signed_up is None:
            continue
        auth = person.auth or await client.sign_in(person.email)
        if auth is None:
            if person.signed_up.acknowledged:
                problems.append(f"{person.email}: sign-up acknowledged, but no such account")
            continue
        person.auth = auth
        me = await client.read("/me", auth)
        if person.account_id is not None and me["account_id"] != person.account_id:
            problems.append(
                f"{person.email}: account {me['account_id']}, acknowledged {person.account_id}"
            )
        person.account_id = me["account_id"]
        found.accounts[person.email] = person

    listed = await client.every_item(f"/hackathons/{hid}/teams")
    by_name = Counter(t["name"] for t in listed)
    known = {t.name for t in ledger.teams}
    for name, count in by_name.items():
        if name not in known:
            problems.append(f"a team nobody created: {name}")
        elif count > 1:
            problems.append(f"team {name} exists {count} times")
    for team in ledger.teams:
        if team.created is None:
            continue
        present = [t for t in listed if t["name"] == team.name]
        if team.created.acknowledged and not present:
            problems.append(f"team {team.name}: creation acknowledged, but it is not listed")
        if not present:
            continue
        team.team_id = present[0]["team_id"]
        view = await client.read(f"/teams/{team.team_id}")
        ids = [m["account_id"] for m in view["members"]]
        if len(ids) != len(set(ids)):
            problems.append(f"team {team.name}: a member twice: {ids}")
        members = [team.captain]
        for person, joined in team.joins:
            if person.account_id in ids:
                members.append(person)
            elif joined.acknowledged:
                problems.append(
                    f"team {team.name}: {person.name}'s join acknowledged, not a member"
                )
        expected_ids = [p.account_id for p in members]
        if sorted(ids) != sorted(str(i) for i in expected_ids):
            problems.append(f"team {team.name}: members {ids}, expected {expected_ids}")
        found.members[team.team_id] = members

        acked = sum(1 for _a, _t, w in team.versions if w.acknowledged)
        unsure = sum(1 for _a, _t, w in team.versions if w.uncertain)
        if not team.versions:
            continue
        answer = await client.http.get(
            f"/teams/{team.team_id}/submission", headers=team.captain.auth or {}
        )
        if answer.status_code == 404:
            version = 0
        else:
            assert answer.status_code == 200, answer.text
            version = answer.json()["version"]
            _author, last_title, last = team.versions[-1]
            if last.acknowledged and answer.json()["title"] != last_title:
                problems.append(
                    f"team {team.name}: latest title {answer.json()['title']!r}, not {last_title!r}"
                )
        if not acked <= version <= acked + unsure:
            problems.append(
                f"team {team.name}: version {version} after {acked} acknowledged and "
                f"{unsure} uncertain versions"
            )
        found.versions[team.team_id] = version

    if ledger.results is not None and ledger.results.acknowledged:
        results = await client.read(f"/hackathons/{hid}/results")
        found.ranked = [e["team_id"] for e in results["entries"]]
        with_versions = {t for t, v in found.versions.items() if v > 0}
        if sorted(found.ranked) != sorted(with_versions):
            problems.append(f"results rank {found.ranked}, teams with versions {with_versions}")
        hackathon = await client.read(f"/hackathons/{hid}")
        if hackathon["phase"] != "finished":
            problems.append(f"the hackathon is in phase {hackathon['phase']} after its results")
    return problems, found


def expected_feeds(ledger: Ledger, found: Resolved) -> dict[str, Counter[str]]:
    """Each person's notifications by kind, as the rules make them of the effects found: a
    welcome; the captain hears of the team's registration; each join is told to the members
    before it and the joiner; each version to every member (every join came before the
    first version); the judge is told of the enrolment and of each assignment; each member
    of a ranked team of the results."""
    feeds: dict[str, Counter[str]] = {email: Counter(welcome=1) for email in found.accounts}
    for team in ledger.teams:
        members = found.members.get(team.team_id or "")
        if not members:
            continue
        feeds[members[0].email]["team_registered"] += 1
        for number in range(1, len(members)):
            for person in members[: number + 1]:
                feeds[person.email]["team_member_joined"] += 1
        versions = found.versions.get(team.team_id or "", 0)
        for person in members:
            if versions:
                feeds[person.email]["submission_received"] += versions
            if team.team_id in found.ranked:
                feeds[person.email]["results_published"] += 1
    judge = ledger.judge
    if judge is not None and judge.email in found.accounts:
        feeds[judge.email]["judge_enrolled"] += 1
        assigned = sum(1 for v in found.versions.values() if v > 0)
        if assigned:
            feeds[judge.email]["judge_assigned"] += assigned
    return feeds


async def _feed(client: Client, person: Person) -> list[Json]:
    return await client.every_item("/notifications", person.auth)


async def check_feeds(
    client: Client, ledger: Ledger, found: Resolved, timeout: float = ARRIVAL_SECONDS
) -> tuple[list[str], dict[str, list[Json]]]:
    """Every feed exactly as expected (``expected_feeds``), waiting for the notifications to
    arrive; an extra notification is a problem at once. Returns the problems and the feeds."""
    expected = expected_feeds(ledger, found)
    feeds: dict[str, list[Json]] = {}
    extra: list[str] = []

    async def all_arrived() -> bool:
        for email, person in found.accounts.items():
            feed = await _feed(client, person)
            feeds[email] = feed
            kinds = Counter(n["kind"] for n in feed)
            if kinds - expected[email]:
                extra.append(f"{person.name}: {dict(kinds)}, expected {dict(expected[email])}")
                return True
            if kinds != expected[email]:
                return False
        return True

    with contextlib.suppress(AssertionError):  # described below, person by person
        await wait_until(all_arrived, timeout=timeout, interval=0.3)
    problems = list(extra)
    if not extra:
        for email, person in found.accounts.items():
            kinds = Counter(n["kind"] for n in feeds.get(email, []))
            if kinds != expected[email]:
                problems.append(
                    f"{person.name}'s feed: {dict(kinds)}, expected {dict(expected[email])}"
                )
    for email, feed in feeds.items():
        ids = [n["notification_id"] for n in feed]
        if len(ids) != len(set(ids)):
            problems.append(f"{email}: a notification id twice in the feed")
    return problems, feeds


async def check_emails(
    smtp: SmtpServer,
    feeds: dict[str, list[Json]],
    timeout: float = ARRIVAL_SECONDS,
    same_message_again: bool = False,
) -> list[str]:
    """One e-mail per notification in each feed (by ``Message-ID``), with the same subjects.
    The dispatcher delivers at least once, and receivers drop a copy by its ``Message-ID``:
    a copy is allowed only with ``same_message_again`` (a scenario that kills notifications
    between sending and recording)."""
    problems: list[str] = []

    def subjects(email: str) -> tuple[Counter[str], int]:
        messages = smtp.mailbox.to(email)
        distinct = {str(m["Message-ID"]): str(m["Subject"]) for m in messages}
        return Counter(distinct.values()), len(messages) - len(distinct)

    def arrived() -> bool:
        return all(
            subjects(email)[0] == Counter(n["subject"] for n in feed)
            for email, feed in feeds.items()
        )

    with contextlib.suppress(AssertionError):
        await wait_until(arrived, timeout=timeout, interval=0.3)
    for email, feed in feeds.items():
        got, copies = subjects(email)
        wanted = Counter(n["subject"] for n in feed)
        if got != wanted:
            problems.append(
                f"{email}: e-mails {sorted(got.elements())}, feed {sorted(wanted.elements())}"
            )
        if copies and not same_message_again:
            problems.append(f"{email}: {copies} e-mail(s) sent again with the same Message-ID")
    return problems


async def check_audit(
    platform: Platform, ledger: Ledger, timeout: float = ARRIVAL_SECONDS
) -> tuple[list[str], Report | None]:
    """``audit verify`` of the hackathon over the platform's log, with its trusted keys:
    clean, and its results recomputed alike (waiting for the results to reach the log)."""
    keys = load_trusted_keys(platform.keys.trusted)
    seen: list[Report] = []

    async def clean() -> bool:
        report = verify(await platform_log(platform), hackathons=[ledger.hackathon_id], keys=keys)
        seen[:] = [report]
        published = ledger.results is not None and ledger.results.acknowledged
        return report.clean and (not published or [r.matches for r in report.results] == [True])

    try:
        await wait_until(clean, timeout=timeout, interval=0.5)
    except AssertionError:
        report = seen[0] if seen else None
        return [f"audit verify is not clean:\n{render(report) if report else 'no report'}"], report
    return [], seen[0]


REBUILT_SERVICES = ("submissions", "scoring")  # the read models `audit rebuild` makes


async def check_rebuilds(
    platform: Platform, ledger: Ledger, timeout: float = ARRIVAL_SECONDS
) -> list[str]:
    """``audit rebuild`` of each rebuildable service from the platform's log, with its
    trusted keys, into a fresh SQLite file: equal to the live database for the hackathon
    (waiting while the live one may still be applying the last events)."""
    problems: list[str] = []
    for service in REBUILT_SERVICES:
        live = live_database_url(platform, service)
        outputs: list[str] = []

        async def equal(
            service: str = service, live: str = live, outputs: list[str] = outputs
        ) -> bool:
            target = platform.config.data_dir / f"rebuilt-{service}-{uuid.uuid4().hex[:8]}.db"
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hackathon_cli.main", "audit", "rebuild", service,
                "--database", f"sqlite:///{target}", "--live", live,
                "--bootstrap-servers", platform.bootstrap_servers,
                "--topic-prefix", platform.config.topic_prefix,
                "--hackathon", ledger.hackathon_id,
                "--keys", str(platform.keys.trusted),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await process.communicate()
            target.unlink(missing_ok=True)
            outputs[:] = [out.decode(errors="replace")[-3000:]]
            return process.returncode == 0 and "EQUAL" in outputs[0]

        try:
            await wait_until(equal, timeout=timeout, interval=1.0)
        except AssertionError:
            problems.append(f"audit rebuild {service} is not equal to the live one:\n{outputs}")
    return problems


async def check_dlqs_empty(platform: Platform) -> list[str]:
    """Nothing on any dead-letter topic of the platform."""
    names = [dlq(platform.config.topic_prefix + t) for t in ALL_TOPICS]
    consumer = AIOKafkaConsumer(bootstrap_servers=platform.bootstrap_servers, group_id=None)
    await consumer.start()
    problems: list[str] = []
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(name, number)
            for name in names
            for number in sorted(consumer.partitions_for_topic(name) or ())
        ]
        if partitions:
            ends = await consumer.end_offsets(partitions)
            problems = [
                f"{tp.topic}[{tp.partition}] holds {end}" for tp, end in ends.items() if end
            ]
    finally:
        await consumer.stop()
    return problems


def duplicate_records(records: Sequence[Any]) -> int:
    """How many records of the log repeat an event id already seen (redelivered copies)."""
    ids: Counter[str] = Counter()
    for record in records:
        if record.value:
            with contextlib.suppress(ValueError):
                ids[str(json.loads(record.value).get("event_id"))] += 1
    return sum(count - 1 for count in ids.values() if count > 1)


@dataclass
class Outcome:
    problems: list[str]
    found: Resolved
    feeds: dict[str, list[Json]]
    report: Report | None
    uncertain: list[Write]


async def check_all(
    platform: Platform,
    client: Client,
    ledger: Ledger,
    smtp: SmtpServer,
    same_message_again: bool = False,
) -> Outcome:
    """Every check, in order: state, feeds, e-mails, audit, dead letters; and the feeds read
    again at the end, so that a notification arriving late and extra is caught too."""
    problems, found = await check_state(client, ledger)
    feed_problems, feeds = await check_feeds(client, ledger, found)
    problems += feed_problems
    problems += await check_emails(smtp, feeds, same_message_again=same_message_again)
    audit_problems, report = await check_audit(platform, ledger)
    problems += audit_problems
    problems += await check_rebuilds(platform, ledger)
    problems += await check_dlqs_empty(platform)
    expected = expected_feeds(ledger, found)
    for email, person in found.accounts.items():
        kinds = Counter(n["kind"] for n in await _feed(client, person))
        if kinds != expected[email] and not any(p.startswith(person.name) for p in problems):
            problems.append(
                f"{person.name}'s feed at the end: {dict(kinds)}, expected {dict(expected[email])}"
            )
    uncertain = [w for w in client.writes if w.uncertain]
    return Outcome(problems, found, feeds, report, uncertain)


def log_lines(platform: Platform, name: str, *needles: str, last: int = 15) -> list[str]:
    """The lines of ``<data_dir>/logs/<name>.log`` that contain any of ``needles`` (every line
    without needles), the last ``last`` of them."""
    path = platform.config.data_dir / "logs" / f"{name}.log"
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    chosen = [line for line in lines if not needles or any(n in line for n in needles)]
    return chosen[-last:]


def describe(
    outcome: Outcome, platform: Platform, said: Sequence[str], names: Sequence[str]
) -> str:
    """A failed scenario's evidence: the problems, the uncertain writes, what the supervisor
    said, and the errors the processes concerned logged."""
    parts = ["problems:", *(f"  {p}" for p in outcome.problems)]
    parts += ["uncertain writes:", *(f"  {w}" for w in outcome.uncertain)]
    parts += ["supervisor:", *(f"  {line}" for line in said)]
    for name in names:
        parts.append(f"{name}.log (errors):")
        parts += [f"  {line}" for line in log_lines(platform, name, '"ERROR"', "Traceback", "lost")]
    return "\n".join(parts)


def summary(outcome: Outcome, client: Client) -> str:
    """One line on what a scenario did and found, for its output (``pytest -s``)."""
    retried = [w for w in client.writes if len(w.statuses) > 1]
    statuses = Counter(str(s) for w in retried for s in w.statuses[:-1])
    notes = Counter(n.kind for n in outcome.report.notes) if outcome.report else Counter()
    return (
        f"{len(client.writes)} writes, {len(retried)} sent again ({dict(statuses)}), "
        f"{len(outcome.uncertain)} uncertain, {sum(w.replayed for w in client.writes)} replayed; "
        f"{len(outcome.found.accounts)} accounts, {len(outcome.found.members)} teams, "
        f"{sum(outcome.found.versions.values())} versions, "
        f"{sum(len(f) for f in outcome.feeds.values())} notifications; audit notes {dict(notes)}"
    )
