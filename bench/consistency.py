"""How soon a write is seen by another service, what the consistency barrier adds to the
requests that depend on it, how long a write waits for its events to be in the log, and what
prompt consumers cost when nothing happens: the consumers' old fetch timing ("before",
``CONSUMER_FETCH_MAX_WAIT_MS=500 CONSUMER_BATCH_TIMEOUT_MS=200``, aiokafka's and FastStream's
defaults) against the current defaults ("after"), each on a platform of its own (embedded
broker, SQLite, a temporary data directory), one after the other in the same run.

Per configuration, after setting up a hackathon in ``hacking`` and 2 x rounds participants:

1. Propagation: a participant creates a team through the gateway (``TeamRegistered`` on
   ``registration.events``, which submissions consumes). From the answer until submissions'
   ``consumer_positions`` (its SQLite file, opened read-only, polled every millisecond) has
   passed the event's offset, which is the end of the team's partition just before the write
   (one Fetch); a round counts only if the topic then grew by exactly that one record.
2. The barrier of submissions: a second participant joins a team and at once submits for it
   (``PUT /teams/{tid}/submission``, accepted only once submissions knows the member); then,
   with everything applied, the submission is read (through the gateway and directly) and
   submitted again. Per request, the growth of ``consistency_barrier_seconds``' sum (its
   ``/metrics``, read between requests); per pass, the histogram's delta over each phase; the
   client's latencies; as baselines, requests that pass no barrier: ``GET /me`` through the
   gateway (registration's own facts) and submissions' own ``/healthz``.
3. Write acknowledgement: ``write_acknowledgement_seconds`` of registration (team creations
   and joins) and of submissions (the submissions), deltas over the phases.
4. Idle CPU: utime+stime (with children) of every process of the platform and of the broker
   over ``--idle-seconds`` without requests, as % of one core; the whole machine's busy time
   over the same window shows what else ran.

    .venv/bin/python bench/consistency.py [--rounds 60] [--idle-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from hackathon_cli.platform import SERVICES, Platform, PlatformConfig
from hackathon_shared.log_end import LogEnds, partition_of
from hackathon_shared.ports import free_port
from hackathon_shared.settings import ServiceSettings
from hackathon_shared.topics import REGISTRATION_EVENTS

ORGANIZER = ("bench-organizer@example.org", "bench-organizer-password")
PASSWORD = "bench password 1234"
TIMING = ("CONSUMER_FETCH_MAX_WAIT_MS", "CONSUMER_BATCH_TIMEOUT_MS")
BEFORE = {"CONSUMER_FETCH_MAX_WAIT_MS": "500", "CONSUMER_BATCH_TIMEOUT_MS": "200"}
AFTER: dict[str, str] = {}  # the defaults

ROUND_TIMEOUT = 10.0  # one event applied, one request answered
PAUSE = (0.02, 0.12)  # between rounds, random: writes land anywhere in the consumers' cycle
SEED = 1  # the same pauses for both configurations
SUBMISSION = {"title": "Bench entry", "summary": "How fast facts travel", "kind": "technology"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Auth = dict[str, str]


def default_timing() -> str:
    """The defaults' fetch timing on the embedded broker, as the services resolve it."""
    settings = ServiceSettings()
    return f"{settings.fetch_max_wait_ms_for(tansu=True)} / {settings.consumer_batch_timeout_ms}"


@dataclass(frozen=True)
class Person:
    account_id: str
    auth: Auth


@dataclass
class Histogram:
    """Cumulative bucket counts by upper bound, and the sum, of one labelled histogram."""

    buckets: dict[float, float] = field(default_factory=dict)
    total: float = 0.0

    def minus(self, earlier: Histogram) -> Histogram:
        return Histogram(
            {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            self.total - earlier.total,
        )

    @property
    def count(self) -> float:
        return self.buckets.get(math.inf, 0.0)

    def quantile(self, q: float) -> float | None:
        """Like Prometheus' histogram_quantile: linear within the bucket holding the rank."""
        if self.count <= 0:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for le in sorted(self.buckets):
            count = self.buckets[le]
            if count >= rank:
                if math.isinf(le):
                    return lower  # past the last finite bound: at least that
                return lower + (le - lower) * (rank - below) / (count - below)
            lower, below = le, count
        return lower


Scrape = dict[tuple[str, str], Histogram]  # (metric, service) -> histogram

HISTOGRAMS = ("consistency_barrier_seconds", "write_acknowledgement_seconds")


async def scrape(
    http: httpx.AsyncClient, platform: Platform, services: Sequence[str] = SERVICES
) -> Scrape:
    found: Scrape = {}
    for service in services:
        answer = await http.get(platform.service_url(service) + "/metrics")
        answer.raise_for_status()
        for family in text_string_to_metric_families(answer.text):
            if family.name not in HISTOGRAMS:
                continue
            for sample in family.samples:
                key = (family.name, sample.labels.get("service", ""))
                histogram = found.setdefault(key, Histogram())
                if sample.name.endswith("_bucket"):
                    histogram.buckets[float(sample.labels["le"])] = sample.value
                elif sample.name.endswith("_sum"):
                    histogram.total = sample.value
    return found


def delta(later: Scrape, earlier: Scrape, metric: str, service: str) -> Histogram:
    return later.get((metric, service), Histogram()).minus(
        earlier.get((metric, service), Histogram())
    )


class BarrierClock:
    """Submissions' total time in the barrier so far (the histogram's sum, from /metrics):
    read between requests, its growth is one request's time in the barrier."""

    def __init__(self, http: httpx.AsyncClient, platform: Platform) -> None:
        self.http = http
        self.platform = platform
        self.last = 0.0

    async def reset(self) -> None:
        self.last = await self._read()

    async def lap_ms(self) -> float:
        now = await self._read()
        lap, self.last = (now - self.last) * 1000, now
        return lap

    async def _read(self) -> float:
        found = await scrape(self.http, self.platform, ["submissions"])
        return found.get(("consistency_barrier_seconds", "submissions"), Histogram()).total


# --------------------------------------------------------------------------------------------
# CPU time from /proc
# --------------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # fields from the 3rd (state) on


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_ticks(roots: dict[str, int]) -> dict[str, dict[int, int]]:
    """Per named root process: clock ticks (utime+stime, plus those of reaped children) of it
    and of each live descendant, by pid."""
    children = _children()
    ticks: dict[str, dict[int, int]] = {}
    for name, root in roots.items():
        per_pid: dict[int, int] = {}
        pending = [root]
        while pending:
            pid = pending.pop()
            fields = _stat(pid)
            if fields is None:
                continue
            per_pid[pid] = sum(int(fields[i]) for i in (11, 12, 13, 14))
            pending.extend(children.get(pid, []))
        ticks[name] = per_pid
    return ticks


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of every core since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values[:8]) - idle, sum(values[:8])


@dataclass
class IdleCpu:
    seconds: float
    per_process: dict[str, float]  # % of one core
    machine_busy: float  # % of one core, every process of the machine


def idle_cpu(platform: Platform, seconds: float) -> IdleCpu:
    roots = {p.name: p.popen.pid for p in platform.processes}
    if platform.broker is not None and platform.broker.pid is not None:
        roots["broker (Tansu)"] = platform.broker.pid
    start, machine_start, started = tree_ticks(roots), machine_busy_ticks(), time.monotonic()
    time.sleep(seconds)
    end, machine_end, elapsed = tree_ticks(roots), machine_busy_ticks(), time.monotonic() - started
    per_process = {
        name: 100.0
        * sum(t - start[name].get(pid, 0) for pid, t in end[name].items())
        / CLOCK_TICKS
        / elapsed
        for name in roots
    }
    busy = 100.0 * (machine_end[0] - machine_start[0]) / CLOCK_TICKS / elapsed
    return IdleCpu(elapsed, per_process, busy)


# --------------------------------------------------------------------------------------------
# Positions, read from the consuming service's SQLite file
# --------------------------------------------------------------------------------------------


class Positions:
    def __init__(self, path: Path) -> None:
        self.connection = read_only(path)
        # Time between two polls: 1 ms asked, the rest is this process waiting for a core,
        # which the services' consumers wait for too (a gauge of the machine's contention).
        self.gaps_ms: list[float] = []

    def next_offset(self, tp: TopicPartition) -> int:
        row = self.connection.execute(
            'SELECT max(next_offset) FROM consumer_positions WHERE topic = ? AND "partition" = ?',
            (tp.topic, tp.partition),
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def wait_past(self, tp: TopicPartition, offset: int, timeout: float) -> float:
        """When the stored position first passed ``offset`` (polled every millisecond)."""
        deadline = time.perf_counter() + timeout
        last = None
        while True:
            now = time.perf_counter()
            if last is not None:
                self.gaps_ms.append((now - last) * 1000)
            last = now
            if self.next_offset(tp) > offset:
                return time.perf_counter()
            if now > deadline:
                raise TimeoutError(f"{tp} not applied past {offset} within {timeout} s")
            time.sleep(0.001)

    def close(self) -> None:
        self.connection.close()


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)


def _epoch(stored: str) -> float:
    """A UtcDateTime column's SQLite text (UTC, without a zone) as seconds since the epoch."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).timestamp()


@dataclass
class Stages:
    """Where an event's propagation went, from the services' own timestamps (wall clock, one
    machine): registration's outbox row (committed, marked published once the broker
    acknowledged it) and the inbox row submissions wrote while applying it."""

    to_log_ms: list[float] = field(default_factory=list)  # committed -> acknowledged by the log
    to_handler_ms: list[float] = field(default_factory=list)  # acknowledged -> handled
    to_visible_ms: list[float] = field(default_factory=list)  # handled -> position seen


def stages(data_dir: Path, events: Sequence[tuple[str, float]]) -> Stages:
    """``events``: (team id, wall time its position was seen applied)."""
    found = Stages()
    registration = read_only(data_dir / "registration.db")
    submissions = read_only(data_dir / "submissions.db")
    try:
        for team_id, applied in events:
            row = registration.execute(
                "SELECT event_id, created_at, published_at FROM outbox"
                " WHERE aggregate_id = ? AND event_type = 'TeamRegistered'",
                (team_id,),
            ).fetchone()
            if row is None or row[2] is None:
                continue
            handled = submissions.execute(
                "SELECT max(processed_at) FROM inbox WHERE event_id = ?", (row[0],)
            ).fetchone()
            if handled is None or handled[0] is None:
                continue
            created, published, processed = _epoch(row[1]), _epoch(row[2]), _epoch(handled[0])
            found.to_log_ms.append((published - created) * 1000)
            found.to_handler_ms.append((processed - published) * 1000)
            found.to_visible_ms.append((applied - processed) * 1000)
    finally:
        registration.close()
        submissions.close()
    return found


# --------------------------------------------------------------------------------------------
# The measurement
# --------------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: int) -> float | None:
    """The q-th percentile (linear between the closest ranks)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = await request
    return answer, (time.perf_counter() - started) * 1000


async def pause(rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(*PAUSE))


@dataclass
class Figures:
    rounds: int = 0
    propagation_ms: list[float] = field(default_factory=list)
    propagation_discarded: int = 0
    propagation_from_sent_ms: list[float] = field(default_factory=list)
    create_team_ms: list[float] = field(default_factory=list)
    put_after_join_ms: list[float] = field(default_factory=list)
    put_caught_up_ms: list[float] = field(default_factory=list)
    in_barrier_put_after_join_ms: list[float] = field(default_factory=list)
    in_barrier_get_ms: list[float] = field(default_factory=list)
    in_barrier_put_caught_up_ms: list[float] = field(default_factory=list)
    applied_at_answer: int = 0  # propagation rounds already applied at the first look
    poll_gaps_ms: list[float] = field(default_factory=list)
    stages: Stages = field(default_factory=Stages)
    get_gateway_ms: list[float] = field(default_factory=list)
    me_gateway_ms: list[float] = field(default_factory=list)
    get_direct_ms: list[float] = field(default_factory=list)
    healthz_direct_ms: list[float] = field(default_factory=list)
    barrier_after_write: Histogram = field(default_factory=Histogram)
    barrier_caught_up: Histogram = field(default_factory=Histogram)
    barrier_requests_after_write: int = 0
    barrier_requests_caught_up: int = 0
    ack_registration: Histogram = field(default_factory=Histogram)
    ack_submissions: Histogram = field(default_factory=Histogram)
    unexpected: list[str] = field(default_factory=list)  # answers other than the expected
    idle: IdleCpu | None = None
    settings: str = ""  # fetch_max_wait_ms / batch_timeout_ms


def expect(figures: Figures, answer: httpx.Response, status: int, what: str) -> None:
    if answer.status_code != status:
        figures.unexpected.append(f"{what}: {answer.status_code} {answer.text[:200]}")
        if answer.status_code >= 400:
            raise RuntimeError(figures.unexpected[-1])


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> Auth:
    answer = await http.post("/auth/token", json={"email": email, "password": password})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def new_participant(http: httpx.AsyncClient, hackathon_id: str) -> Person:
    email = f"bench-{secrets.token_hex(6)}@example.org"
    created = await http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": "Bench"}
    )
    created.raise_for_status()
    auth = await sign_in(http, email, PASSWORD)
    registered = await http.post(
        f"/hackathons/{hackathon_id}/registrations",
        headers=auth,
        json={"sector": "other", "consent": True},
    )
    registered.raise_for_status()
    return Person(created.json()["account_id"], auth)


async def gather_limited(count: int, make: Callable[[], Awaitable[Person]]) -> list[Person]:
    gate = asyncio.Semaphore(4)  # Argon2 hashing: two cores

    async def one() -> Person:
        async with gate:
            return await make()

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def wait_caught_up(
    positions: Positions, log_ends: LogEnds, tps: Iterable[TopicPartition]
) -> None:
    deadline = time.monotonic() + 30
    ends = await log_ends.ends(tps)
    while any(positions.next_offset(tp) < end for tp, end in ends.items()):
        if time.monotonic() > deadline:
            raise TimeoutError("submissions did not catch up with registration.events")
        await asyncio.sleep(0.01)


async def measure(platform: Platform, rounds: int, idle_seconds: float, seed: int) -> Figures:
    figures = Figures(rounds=rounds)
    rng = random.Random(seed)
    topics = platform.config.topic_prefix
    registration_topic = topics + REGISTRATION_EVENTS
    submissions_url = platform.service_url("submissions")
    log_ends = LogEnds(platform.bootstrap_servers)
    positions = Positions(platform.config.data_dir / "submissions.db")
    async with (
        httpx.AsyncClient(base_url=platform.gateway_url + "/api/v1", timeout=30) as http,
        httpx.AsyncClient(timeout=30) as direct,
    ):
        try:
            partitions = await log_ends.partitions(registration_topic)
            tps = [TopicPartition(registration_topic, p) for p in partitions]

            # Set-up: a hackathon in "hacking" and 2 x rounds registered participants.
            organizer = await sign_in(http, *ORGANIZER)
            created = await http.post(
                "/hackathons",
                headers=organizer,
                json={
                    "name": f"Bench {secrets.token_hex(3)}",
                    "challenges": [{"title": "Consistency"}],
                    "min_team_size": 1,
                    "max_team_size": 3,
                    "max_teams": 10000,
                    "submission_deadline": "2099-01-01T00:00:00Z",
                    "rubric": {"criteria": [{"key": "speed", "weight": 1}]},
                    "judges_per_submission": 1,
                    "awards": [],
                },
            )
            created.raise_for_status()
            hackathon = created.json()
            hid = hackathon["hackathon_id"]
            challenge_id = hackathon["challenges"][0]["challenge_id"]
            for phase in ("registration", "hacking"):
                moved = await http.post(
                    f"/hackathons/{hid}/phase", headers=organizer, json={"phase": phase}
                )
                moved.raise_for_status()
            people = await gather_limited(2 * rounds, lambda: new_participant(http, hid))
            captains, joiners = people[:rounds], people[rounds:]
            await wait_caught_up(positions, log_ends, tps)
            await asyncio.sleep(1)
            scraped = [await scrape(direct, platform)]

            # 1. Propagation of a team creation to submissions.
            teams: list[dict[str, Any]] = []
            seen: list[tuple[str, float]] = []  # team id, wall time applied
            wall = time.time() - time.perf_counter()
            for index, captain in enumerate(captains):
                await pause(rng)
                before = await log_ends.ends(tps)
                answer, elapsed = await timed(
                    http.post(
                        f"/hackathons/{hid}/teams",
                        headers=captain.auth,
                        json={
                            "name": f"Bench team {index} {secrets.token_hex(3)}",
                            "challenge_id": challenge_id,
                        },
                    )
                )
                answered = time.perf_counter()
                expect(figures, answer, 201, "create team")
                figures.create_team_ms.append(elapsed)
                team = answer.json()
                teams.append(team)
                tp = TopicPartition(registration_topic, partition_of(team["team_id"], len(tps)))
                if positions.next_offset(tp) > before[tp]:
                    figures.applied_at_answer += 1
                applied = positions.wait_past(tp, before[tp], ROUND_TIMEOUT)
                after = await log_ends.ends(tps)
                grown = {t: after[t] - before[t] for t in tps}
                if grown == {t: int(t == tp) for t in tps}:
                    figures.propagation_ms.append((applied - answered) * 1000)
                    figures.propagation_from_sent_ms.append((applied - answered) * 1000 + elapsed)
                    seen.append((team["team_id"], wall + applied))
                else:  # another record came too: the position may not be this event's
                    figures.propagation_discarded += 1
            scraped.append(await scrape(direct, platform))
            figures.stages = stages(platform.config.data_dir, seen)

            # 2a. A request that depends on a write answered just before: join, then submit.
            clock = BarrierClock(direct, platform)
            for team, joiner in zip(teams, joiners, strict=True):
                await pause(rng)
                await clock.reset()  # the join passes registration's barrier, not this one
                joined = await http.post(
                    f"/teams/{team['team_id']}/members",
                    headers=joiner.auth,
                    json={"invite_code": team["invite_code"]},
                )
                expect(figures, joined, 201, "join team")
                answer, elapsed = await timed(
                    http.put(
                        f"/teams/{team['team_id']}/submission",
                        headers=joiner.auth,
                        json=SUBMISSION,
                    )
                )
                expect(figures, answer, 201, "submit right after joining")
                figures.put_after_join_ms.append(elapsed)
                figures.in_barrier_put_after_join_ms.append(await clock.lap_ms())
            figures.barrier_requests_after_write = len(teams)
            await wait_caught_up(positions, log_ends, tps)
            scraped.append(await scrape(direct, platform))

            # 2b. Dependent reads with everything applied, and requests without a barrier.
            for team, captain in zip(teams, captains, strict=True):
                await pause(rng)
                await clock.reset()
                path = f"/teams/{team['team_id']}/submission"
                answer, elapsed = await timed(http.get(path, headers=captain.auth))
                expect(figures, answer, 200, "read submission (gateway)")
                figures.get_gateway_ms.append(elapsed)
                figures.in_barrier_get_ms.append(await clock.lap_ms())
                answer, elapsed = await timed(http.get("/me", headers=captain.auth))
                expect(figures, answer, 200, "GET /me (gateway)")
                figures.me_gateway_ms.append(elapsed)
                answer, elapsed = await timed(
                    direct.get(submissions_url + path, headers=captain.auth)
                )
                expect(figures, answer, 200, "read submission (direct)")
                figures.get_direct_ms.append(elapsed)
                figures.in_barrier_get_ms.append(await clock.lap_ms())
                answer, elapsed = await timed(direct.get(submissions_url + "/healthz"))
                expect(figures, answer, 200, "healthz (direct)")
                figures.healthz_direct_ms.append(elapsed)
                # Last: its event goes on to scoring and notifications during the pause.
                answer, elapsed = await timed(http.put(path, headers=captain.auth, json=SUBMISSION))
                expect(figures, answer, 200, "submit again, caught up")
                figures.put_caught_up_ms.append(elapsed)
                figures.in_barrier_put_caught_up_ms.append(await clock.lap_ms())
            figures.barrier_requests_caught_up = 3 * len(teams)
            scraped.append(await scrape(direct, platform))
        finally:
            figures.poll_gaps_ms = positions.gaps_ms
            positions.close()
            await log_ends.close()

    s0, s1, s2, s3 = scraped
    barrier = "consistency_barrier_seconds"
    ack = "write_acknowledgement_seconds"
    figures.barrier_after_write = delta(s2, s1, barrier, "submissions")
    figures.barrier_caught_up = delta(s3, s2, barrier, "submissions")
    figures.ack_registration = delta(s2, s0, ack, "registration")
    figures.ack_submissions = delta(s3, s1, ack, "submissions")

    # 4. Idle: nothing asked of the platform.
    await asyncio.sleep(2)
    figures.idle = idle_cpu(platform, idle_seconds)
    return figures


def run(name: str, timing: dict[str, str], rounds: int, idle_seconds: float) -> Figures:
    print(f"[{name}] starting the platform with {timing or 'the default timing'}", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"bench-consistency-{name}-") as data_dir:
        config = PlatformConfig(
            data_dir=Path(data_dir),
            gateway_port=free_port(),
            broker_port=free_port(),
            bootstrap_servers=None,
            organizer_email=ORGANIZER[0],
            organizer_password=ORGANIZER[1],
            extra_env={
                "RATE_LIMIT_SIGN_UP": "10000/minute",
                "RATE_LIMIT_SIGN_IN": "10000/minute",
                "RATE_LIMIT_WRITES": "10000/minute",
                **timing,
            },
        )
        platform = Platform(config)
        try:
            platform.start()
            assert set(SERVICES) <= {p.name for p in platform.processes}
            figures = asyncio.run(measure(platform, rounds, idle_seconds, seed=SEED))
            if exited := platform.exited():
                raise RuntimeError(f"processes exited during the run: {exited}")
        finally:
            platform.stop()
    figures.settings = (
        " / ".join(timing[k] for k in TIMING) if timing else f"{default_timing()} (defaults)"
    )
    print(f"[{name}] done in {time.monotonic() - started:.0f} s", flush=True)
    return figures


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def pair(values: Sequence[float]) -> str:
    return f"{ms(pct(values, 50))} / {ms(pct(values, 99))}" if values else "-"


def hist_pair(histogram: Histogram) -> str:
    p50, p99 = histogram.quantile(0.5), histogram.quantile(0.99)
    return f"{ms(None if p50 is None else p50 * 1000)} / {ms(None if p99 is None else p99 * 1000)}"


def passes(histogram: Histogram, requests: int) -> str:
    return f"{histogram.count / requests:.1f}" if requests else "-"


def report(before: Figures, after: Figures) -> None:
    both = (before, after)
    rows: list[tuple[str, Callable[[Figures], str], str]] = [
        ("consumer fetch_max_wait_ms / batch_timeout_ms", lambda f: f.settings, ""),
        ("PROPAGATION (write answered -> applied)", lambda f: "", ""),
        (
            "  rounds counted (discarded)",
            lambda f: f"{len(f.propagation_ms)} ({f.propagation_discarded})",
            "",
        ),
        ("  already applied at the answer", lambda f: str(f.applied_at_answer), ""),
        ("  p50 (ms)", lambda f: ms(pct(f.propagation_ms, 50)), ""),
        ("  p95 (ms)", lambda f: ms(pct(f.propagation_ms, 95)), ""),
        ("  p99 (ms)", lambda f: ms(pct(f.propagation_ms, 99)), "< 25"),
        ("  max (ms)", lambda f: ms(max(f.propagation_ms, default=None)), ""),
        (
            "  from the write's start, p50 / p99 (ms)",
            lambda f: pair(f.propagation_from_sent_ms),
            "",
        ),
        ("  stages of an event, p50 / p99 (ms):", lambda f: "", ""),
        ("    committed -> in the log (registration)", lambda f: pair(f.stages.to_log_ms), ""),
        ("    in the log -> handled (submissions)", lambda f: pair(f.stages.to_handler_ms), ""),
        ("    handled -> position visible", lambda f: pair(f.stages.to_visible_ms), ""),
        (
            "  bench's 1 ms poll, gap p50 / p99 / max (ms)",
            lambda f: f"{pair(f.poll_gaps_ms)} / {ms(max(f.poll_gaps_ms, default=None))}",
            "",
        ),
        ("WRITES p50 / p99 (ms)", lambda f: "", ""),
        ("  create team, client", lambda f: pair(f.create_team_ms), ""),
        ("  write ack registration (hist)", lambda f: hist_pair(f.ack_registration), ""),
        ("  write ack submissions (hist)", lambda f: hist_pair(f.ack_submissions), ""),
        ("BARRIER of submissions p50 / p99 (ms)", lambda f: "", ""),
        (
            "  per request, PUT right after a join",
            lambda f: pair(f.in_barrier_put_after_join_ms),
            "p99 < 25",
        ),
        ("  per request, GET caught up", lambda f: pair(f.in_barrier_get_ms), "p99 < 25"),
        ("  per request, PUT caught up", lambda f: pair(f.in_barrier_put_caught_up_ms), ""),
        ("  per pass, after a join (hist)", lambda f: hist_pair(f.barrier_after_write), ""),
        ("  per pass, caught up (hist)", lambda f: hist_pair(f.barrier_caught_up), ""),
        (
            "  passes per request: after a join, caught up",
            lambda f: (
                passes(f.barrier_after_write, f.barrier_requests_after_write)
                + ", "
                + passes(f.barrier_caught_up, f.barrier_requests_caught_up)
            ),
            "",
        ),
        ("CLIENT p50 / p99 (ms)", lambda f: "", ""),
        ("  PUT submission right after a join, gw", lambda f: pair(f.put_after_join_ms), ""),
        ("  PUT submission caught up, gw", lambda f: pair(f.put_caught_up_ms), ""),
        ("  GET submission, gateway", lambda f: pair(f.get_gateway_ms), ""),
        ("    baseline GET /me, gateway (no barrier)", lambda f: pair(f.me_gateway_ms), ""),
        ("  GET submission, direct", lambda f: pair(f.get_direct_ms), ""),
        ("    baseline GET /healthz, direct", lambda f: pair(f.healthz_direct_ms), ""),
        ("IDLE CPU (% of one core)", lambda f: "", ""),
        (
            "  platform and broker, total",
            lambda f: f"{sum(f.idle.per_process.values()):.1f}" if f.idle else "-",
            "stated",
        ),
        (
            "  whole machine, same window",
            lambda f: f"{f.idle.machine_busy:.1f}" if f.idle else "-",
            "",
        ),
        ("answers other than expected", lambda f: str(len(f.unexpected)), "0"),
    ]
    width = max(len(label) for label, _, _ in rows)
    cells = [(label, cell(before), cell(after), goal) for label, cell, goal in rows]
    cw = max(len(c) for _, b, a, _ in cells for c in (b, a))
    line = f"{'metric':<{width}} | {'before':>{cw}} | {'after':>{cw}} | goal"
    print()
    print(line)
    print("-" * len(line))
    for label, b, a, goal in cells:
        print(f"{label:<{width}} | {b:>{cw}} | {a:>{cw}} | {goal}")
    print()
    names = list(dict.fromkeys(n for f in both if f.idle for n in f.idle.per_process))
    print(f"{'idle CPU per process (% of one core)':<{width}} | {'before':>{cw}} | {'after':>{cw}}")
    for name in names:
        cpu = [f"{f.idle.per_process.get(name, 0.0):.1f}" if f.idle else "-" for f in both]
        print(f"{'  ' + name:<{width}} | {cpu[0]:>{cw}} | {cpu[1]:>{cw}}")
    idle = after.idle.seconds if after.idle else 0.0
    print(
        f"(idle window {idle:.1f} s each; {os.cpu_count()} cores = {100 * (os.cpu_count() or 1)} %)"
    )
    for figures, name in ((before, "before"), (after, "after")):
        for problem in figures.unexpected:
            print(f"[{name}] unexpected answer: {problem}")
    print()
    goals = [
        ("propagation p99 < 25 ms", pct(after.propagation_ms, 99)),
        (
            "barrier p99 < 25 ms, per request right after a write",
            pct(after.in_barrier_put_after_join_ms, 99),
        ),
        ("barrier p99 < 25 ms, per request caught up", pct(after.in_barrier_get_ms, 99)),
    ]
    for what, value in goals:
        verdict = "-" if value is None else ("met" if value < 25 else "NOT met")
        print(f"goal {what} (after): {verdict} ({ms(value)} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.rounds < 1 or args.idle_seconds <= 0:
        parser.error("--rounds must be at least 1 and --idle-seconds positive")
    for name in TIMING:  # the services read them from the environment: only what we pass
        os.environ.pop(name, None)
    print(f"rounds: {args.rounds}, idle: {args.idle_seconds:.0f} s, cores: {os.cpu_count()}")
    before = run("before", BEFORE, args.rounds, args.idle_seconds)
    after = run("after", AFTER, args.rounds, args.idle_seconds)
    report(before, after)


if __name__ == "__main__":
    main()
