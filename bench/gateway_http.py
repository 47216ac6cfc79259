"""The HTTP path: requests per second and latency through the gateway, beside bare FastAPI.

One run measures, with wrk (C, from Debian's packages; ``scripts/bench.sh`` installs it) at
``--connections`` connections for ``--seconds`` each, in this order:

1. **bare FastAPI** (``bench/bare_app.py`` on uvicorn, one process like every service): a read
   answering a small pydantic model, and a write that validates a judge-like body and commits
   one row to SQLite, then to PostgreSQL, in the project's own unit of work;
2. **the platform** as the run command starts it (embedded broker), on SQLite, then on
   PostgreSQL: ``GET /api/v1/hackathons/{id}`` (public, passes registration's consistency
   barrier) and ``PUT /api/v1/submissions/{id}/scores/me`` (a judge revising scores over the
   hackathon's submissions: gateway, token, scoring's use case, its outbox, the write
   acknowledgement).

The platform's rate limits are raised for the run (printed): they would otherwise answer
429 after a few requests. The load generator is shown not to be the bottleneck: wrk's own CPU
time is printed beside the server's for the bare runs (the server saturates its one core,
wrk does not).

    .venv/bin/python bench/gateway_http.py [--seconds 10] [--connections 32] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from table import Row, print_rows

from hackathon_cli.platform import SERVICES, Platform, PlatformConfig
from hackathon_shared.auth import issue_token
from hackathon_shared.ports import free_port

BENCH = "http"
ORGANIZER = ("bench-organizer@example.org", "bench-organizer-password")
PASSWORD = "bench password 1234"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
RAISED_LIMITS = {
    "RATE_LIMIT_SIGN_UP": "1000000/minute",
    "RATE_LIMIT_SIGN_IN": "1000000/minute",
    "RATE_LIMIT_WRITES": "1000000/minute",
}
WEIGHTS = {"impact": 3.0, "feasibility": 2.0, "clarity": 1.0}
TEAMS = 12
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HERE = Path(__file__).resolve().parent

# wrk's script: rotates over the given requests, counts the answers per status in each thread
# and prints one JSON line at the end with the latency percentiles and the counts.
WRK_SCRIPT = """
local requests = {}
local counter = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  statuses = {}
  for i, r in ipairs(REQUESTS) do
    r.headers["Host"] = wrk.host .. ":" .. wrk.port
    requests[i] = wrk.format(r.method, r.path, r.headers, r.body)
  end
end
function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do table.insert(parts, '"' .. status .. '":' .. n) end
  io.write(string.format(
    'WRK {"requests":%d,"seconds":%f,"p50_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"timeouts":%d,"connect_errors":%d,"read_errors":%d,"statuses":{%s}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(99), latency.max, summary.errors.timeout, summary.errors.connect,
    summary.errors.read, table.concat(parts, ",")))
end
"""


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    errors: int
    wrk_cpu: float  # seconds of CPU wrk used
    server_cpu: float  # seconds of CPU the measured server process used

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status.startswith("5"))


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this content


def wrk_requests(requests: list[dict[str, Any]]) -> str:
    items = []
    for r in requests:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in r["headers"].items())
        body = lua_string(r["body"]) if r.get("body") is not None else "nil"
        items.append(
            f"{{method = {lua_string(r['method'])}, path = {lua_string(r['path'])}, "
            f"headers = {{{headers}}}, body = {body}}}"
        )
    return "REQUESTS = {" + ",\n".join(items) + "}\n" + WRK_SCRIPT


def resident_mib(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class Memory:
    """Each platform process's resident memory at rest (set up, before any load) and right
    after the loads (Python seldom gives memory back, so this is about the peak)."""

    at_rest: dict[str, float]
    under_load: dict[str, float]


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def run_wrk(
    base_url: str,
    requests: list[dict[str, Any]],
    *,
    seconds: float,
    connections: int,
    server_pid: int,
    warmup: float = 2.0,
) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_requests(requests))
    try:
        if warmup > 0:
            subprocess.run(
                [
                    "wrk",
                    "-t2",
                    f"-c{connections}",
                    f"-d{max(1, round(warmup))}s",
                    "-s",
                    script.name,
                    base_url,
                ],
                check=True,
                capture_output=True,
            )
        before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        before_server = process_cpu(server_pid)
        done = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "20s",
                "-s",
                script.name,
                base_url,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        server_cpu = process_cpu(server_pid) - before_server
        after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(script.name)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    data = json.loads(line[4:])
    return Load(
        requests=data["requests"],
        seconds=data["seconds"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        statuses={str(k): int(v) for k, v in data["statuses"].items()},
        errors=data["timeouts"] + data["connect_errors"] + data["read_errors"],
        wrk_cpu=(after_children.ru_utime + after_children.ru_stime)
        - (before_children.ru_utime + before_children.ru_stime),
        server_cpu=server_cpu,
    )


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------


async def _postgres(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_available() -> bool:
    try:
        asyncio.run(_postgres("SELECT 1"))
    except (OSError, asyncpg.PostgresError):
        return False
    return True


@contextmanager
def postgres_databases(names: list[str]) -> Iterator[dict[str, str]]:
    tag = secrets.token_hex(4)
    created = {name: f"bench_http_{tag}_{name}" for name in names}
    for database in created.values():
        asyncio.run(_postgres(f'CREATE DATABASE "{database}"'))
    try:
        yield {name: f"postgresql://postgres@127.0.0.1:5432/{db}" for name, db in created.items()}
    finally:
        for database in created.values():
            asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


# --------------------------------------------------------------------------------------------
# The bare FastAPI baseline
# --------------------------------------------------------------------------------------------


@contextmanager
def bare_server(database_url: str, log_dir: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    log = (log_dir / f"bare-{port}.log").open("ab")
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bare_app:create_app",
            "--app-dir",
            str(HERE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=os.environ | {"DATABASE_URL": database_url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/items/x", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bare FastAPI server did not start (see {log.name})")
            time.sleep(0.1)
        yield url, popen.pid
    finally:
        popen.terminate()
        popen.wait(timeout=10)
        log.close()


def bare_requests() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    reads = [
        {"method": "GET", "path": f"/items/{uuid.uuid4().hex}", "headers": {}} for _ in range(8)
    ]
    writes = [
        {
            "method": "PUT",
            "path": f"/items/{uuid.uuid4().hex}/scores",
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"scores": {k: float(1 + n % 9) for k in WEIGHTS}, "comment": "ok"}),
        }
        for n in range(TEAMS)
    ]
    return reads, writes


# --------------------------------------------------------------------------------------------
# The platform: a hackathon in judging, with one judge assigned every submission
# --------------------------------------------------------------------------------------------


def expect(answer: httpx.Response, status: int) -> Any:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url}: {answer.status_code} "
            f"{answer.text[:300]}"
        )
    return answer.json() if answer.content else None


async def judged_hackathon(
    platform: Platform,
) -> tuple[str, dict[str, str], list[str]]:
    """The hackathon's id, the judge's headers and the submissions the judge is assigned."""
    secret = platform.config.jwt_secret
    async with httpx.AsyncClient(base_url=platform.gateway_url + "/api/v1", timeout=30) as http:

        async def sign_in(email: str, password: str) -> dict[str, str]:
            body = {"email": email, "password": password}
            token = expect(await http.post("/auth/token", json=body), 200)["access_token"]
            return {"Authorization": f"Bearer {token}"}

        async def new_account(name: str) -> tuple[str, str]:
            email = f"{name}-{secrets.token_hex(4)}@example.org"
            body = {"email": email, "password": PASSWORD, "display_name": name}
            return expect(await http.post("/accounts", json=body), 201)["account_id"], email

        organizer = await sign_in(*ORGANIZER)
        body = {
            "name": f"Bench {secrets.token_hex(4)}",
            "description": "the HTTP benchmark's hackathon",
            "challenges": [{"title": "Clean air"}],
            "min_team_size": 1,
            "max_team_size": 4,
            "max_teams": TEAMS + 5,
            "submission_deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "rubric": {
                "criteria": [{"key": k, "weight": w} for k, w in WEIGHTS.items()],
                "normalization": "none",
            },
            "judges_per_submission": 1,
            "awards": [{"name": "First prize", "rank": 1, "kind": "grant", "amount": 1000}],
        }
        hackathon = expect(await http.post("/hackathons", headers=organizer, json=body), 201)
        hid = hackathon["hackathon_id"]

        async def phase(name: str) -> None:
            path = f"/hackathons/{hid}/phase"
            expect(await http.post(path, headers=organizer, json={"phase": name}), 200)

        await phase("registration")
        captains = []
        for n in range(TEAMS):
            account_id, _email = await new_account(f"captain{n}")
            token = issue_token(secret, account_id, ["participant"], 3600)
            auth = {"Authorization": f"Bearer {token}"}
            registration = {"sector": "civil_society", "consent": True}
            path = f"/hackathons/{hid}/registrations"
            expect(await http.post(path, headers=auth, json=registration), 201)
            team_body = {
                "name": f"Team {n} {secrets.token_hex(3)}",
                "challenge_id": hackathon["challenges"][0]["challenge_id"],
            }
            team = expect(
                await http.post(f"/hackathons/{hid}/teams", headers=auth, json=team_body), 201
            )
            captains.append((team["team_id"], auth))
        await phase("hacking")
        for n, (team_id, auth) in enumerate(captains):
            submission = {
                "title": f"Entry {n}",
                "summary": "Open air-quality sensors for every school yard.",
                "kind": "technology",
                "repo_url": "https://git.example.org/air/sensors",
            }
            expect(
                await http.put(f"/teams/{team_id}/submission", headers=auth, json=submission), 201
            )
        _judge, judge_email = await new_account("judge")
        enrolment = {"email": judge_email, "conflicts": []}
        expect(await http.post(f"/hackathons/{hid}/judges", headers=organizer, json=enrolment), 201)
        await phase("judging")
        expect(await http.post(f"/hackathons/{hid}/assignments", headers=organizer), 200)
        judge = await sign_in(judge_email, PASSWORD)
        page = expect(
            await http.get("/judging/assignments", headers=judge, params={"limit": 100}), 200
        )
        submissions = [item["submission_id"] for item in page["items"]]
        if len(submissions) != TEAMS:
            raise RuntimeError(f"the judge has {len(submissions)} assignments, not {TEAMS}")
        return hid, judge, submissions


def platform_requests(
    hackathon_id: str, judge: dict[str, str], submissions: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    reads = [{"method": "GET", "path": f"/api/v1/hackathons/{hackathon_id}", "headers": {}}]
    writes = [
        {
            "method": "PUT",
            "path": f"/api/v1/submissions/{sid}/scores/me",
            "headers": judge | {"Content-Type": "application/json"},
            "body": json.dumps({"scores": {k: float(1 + n % 9) for k in WEIGHTS}, "comment": "ok"}),
        }
        for n, sid in enumerate(submissions)
    ]
    return reads, writes


def platform_loads(
    data_dir: Path, database_urls: dict[str, str], seconds: float, connections: int
) -> tuple[Load, Load, Memory]:
    config = PlatformConfig(
        data_dir=data_dir,
        gateway_port=free_port(),
        broker_port=None,
        organizer_email=ORGANIZER[0],
        organizer_password=ORGANIZER[1],
        database_urls=database_urls,
        extra_env=RAISED_LIMITS,
    )
    platform = Platform(config)
    platform.start()
    try:
        hid, judge, submissions = asyncio.run(judged_hackathon(platform))
        reads, writes = platform_requests(hid, judge, submissions)
        gateway_pid = next(p.popen.pid for p in platform.processes if p.name == "gateway")
        pids = {p.name: p.popen.pid for p in platform.processes}
        at_rest = {name: resident_mib(pid) for name, pid in pids.items()}
        read = run_wrk(
            platform.gateway_url,
            reads,
            seconds=seconds,
            connections=connections,
            server_pid=gateway_pid,
        )
        write = run_wrk(
            platform.gateway_url,
            writes,
            seconds=seconds,
            connections=connections,
            server_pid=gateway_pid,
        )
        under_load = {name: resident_mib(pid) for name, pid in pids.items()}
        return read, write, Memory(at_rest, under_load)
    finally:
        platform.stop()


# --------------------------------------------------------------------------------------------


def describe(name: str, load: Load) -> None:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(load.statuses.items()))
    print(
        f"  {name:<34} {load.rate:>8,.0f} req/s  p50 {load.p50_ms:7.1f} ms  "
        f"p99 {load.p99_ms:7.1f} ms  max {load.max_ms:7.1f} ms  [{statuses}] "
        f"errors {load.errors}  cpu: server {load.server_cpu / load.seconds:.0%}, "
        f"wrk {load.wrk_cpu / load.seconds:.0%} of one core",
        flush=True,
    )


def memory_rows(backend: str, memory: Memory, bare_rest: float, bare_load: float) -> list[Row]:
    """Each process's resident memory beside one bare FastAPI process's (uvicorn, pydantic,
    SQLAlchemy: what any of these services needs at least), at rest and after load."""
    rows = []
    for name in memory.at_rest:
        for when, values, baseline in (
            ("at rest", memory.at_rest, bare_rest),
            ("after load", memory.under_load, bare_load),
        ):
            rows.append(
                Row(
                    BENCH,
                    f"{name} resident memory {when} ({backend})",
                    values[name],
                    "MiB",
                    baseline,
                    f"bare FastAPI {when}",
                    "stated",
                )
            )
    return rows


def rows_for(backend: str, bare_read: Load, bare_write: Load, read: Load, write: Load) -> list[Row]:
    rows = [
        Row(
            BENCH,
            f"gateway read req/s ({backend})",
            read.rate,
            "req/s",
            bare_read.rate,
            "bare FastAPI read",
            ">= 50% of bare",
            read.rate >= 0.5 * bare_read.rate,
        ),
        Row(
            BENCH,
            f"gateway read p99 ({backend})",
            read.p99_ms,
            "ms",
            bare_read.p99_ms,
            "bare FastAPI read",
            "< 50 ms",
            read.p99_ms < 50,
        ),
        Row(
            BENCH,
            f"gateway write req/s ({backend})",
            write.rate,
            "req/s",
            bare_write.rate,
            f"bare FastAPI write, {backend}",
            ">= 25% of bare",
            write.rate >= 0.25 * bare_write.rate,
        ),
        Row(
            BENCH,
            f"gateway write p99 ({backend})",
            write.p99_ms,
            "ms",
            bare_write.p99_ms,
            f"bare FastAPI write, {backend}",
            "< 50 ms",
            write.p99_ms < 50,
        ),
        Row(
            BENCH,
            f"gateway 5xx and errors ({backend})",
            float(read.server_errors + write.server_errors + read.errors + write.errors),
            "",
            goal="none",
            met=(read.server_errors + write.server_errors + read.errors + write.errors) == 0,
        ),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite"]
    if not args.no_postgres:
        if postgres_available():
            backends.append("postgresql")
        else:
            print("PostgreSQL does not answer at 127.0.0.1:5432: SQLite only")
    print(
        f"connections: {args.connections}, {args.seconds:.0f} s per load, cores: "
        f"{os.cpu_count()}, backends: {', '.join(backends)}"
    )
    print(f"the platform's rate limits are raised for this run: {RAISED_LIMITS}", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        root = Path(tmp)
        for backend in backends:
            print(f"[{backend}]", flush=True)
            with (
                postgres_databases(["bare", *SERVICES])
                if backend == "postgresql"
                else _sqlite_urls(root / backend)
            ) as urls:
                bare_url = urls.pop("bare")
                bare_reads, bare_writes = bare_requests()
                with bare_server(bare_url, root) as (url, pid):
                    bare_rest = resident_mib(pid)
                    bare_read = run_wrk(
                        url,
                        bare_reads,
                        seconds=args.seconds,
                        connections=args.connections,
                        server_pid=pid,
                    )
                    describe("bare FastAPI read", bare_read)
                    bare_write = run_wrk(
                        url,
                        bare_writes,
                        seconds=args.seconds,
                        connections=args.connections,
                        server_pid=pid,
                    )
                    describe(f"bare FastAPI write ({backend})", bare_write)
                    bare_load = resident_mib(pid)
                read, write, memory = platform_loads(
                    root / backend, urls, args.seconds, args.connections
                )
                describe("gateway GET /hackathons/{id}", read)
                describe("gateway PUT /submissions/{id}/scores/me", write)
                for name in memory.at_rest:
                    print(
                        f"  {name + ' resident memory':<34} {memory.at_rest[name]:6.0f} MiB at "
                        f"rest, {memory.under_load[name]:6.0f} MiB after load (bare FastAPI: "
                        f"{bare_rest:.0f} and {bare_load:.0f} MiB)",
                        flush=True,
                    )
                rows += rows_for(backend, bare_read, bare_write, read, write)
                rows += memory_rows(backend, memory, bare_rest, bare_load)
    print()
    print_rows(rows)


@contextmanager
def _sqlite_urls(directory: Path) -> Iterator[dict[str, str]]:
    directory.mkdir(parents=True, exist_ok=True)
    yield {"bare": f"sqlite:///{directory / 'bare.db'}"}  # the services' default: SQLite files


if __name__ == "__main__":
    main()
