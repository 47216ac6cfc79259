"""Parity with docker-compose.yml on a machine without a Docker engine.

Each service runs as its own process with exactly the environment docker-compose.yml gives its
container (read from the file, interpolated from an operator's .env made from .env.example),
with only what Docker would provide swapped for this machine: the host names ``postgres`` and
``kafka`` become PostgreSQL on 127.0.0.1:5432 and the test session's broker (the embedded one
here), and each database and role is made by ops/postgres-setup.sh, the script of the compose
file's postgres-setup job. Scoring runs as two replicas sharing one database and one consumer
group, each with its outbox relay; the gateway reaches them through ``UPSTREAM_HOSTS``, which
stands in for Docker's DNS answering ``scoring`` with both replicas' addresses. An end-to-end
journey then runs through the gateway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from hackathon_cli.main import main as hackathon_main
from hackathon_cli.platform import SERVICES, Platform, PlatformConfig
from hackathon_shared.events.envelope import verify_chain
from hackathon_shared.ports import free_port, free_ports
from hackathon_shared.topics import SCORING_EVENTS
from tests.compose_helpers import ROOT, filled_env_example, service_environment, service_secrets
from tests.database_fixtures import POSTGRES_URL, require_postgres
from tests.journey_helpers import (
    create_hackathon,
    enrol_judge,
    move_to,
    participant,
    read_topics,
    submit,
    team_of,
)
from tests.platform_fixtures import ORGANIZER, Api
from tests.polling import wait_until

REPLICAS = {"scoring": 2}
# What a container gets from the image rather than from the compose file.
IMAGE_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
PASSED_THROUGH = ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")


class ComposeParityPlatform(Platform):
    """The platform started from docker-compose.yml's environments (see the module doc)."""

    def __init__(self, config: PlatformConfig, operator_env: dict[str, str], prefix: str) -> None:
        super().__init__(config)
        self.operator_env = operator_env
        self.prefix = prefix  # of database and role names, unique to this run
        self.addresses: dict[str, list[str]] = {}

    def container_env(self, service: str) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ} | IMAGE_ENV
        env.update(service_environment(service, self.operator_env))
        if "KAFKA_BOOTSTRAP_SERVERS" in env:
            assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap_servers
        if "DATABASE_URL" in env:
            env["DATABASE_URL"] = self.local_database_url(env["DATABASE_URL"])
        # Compose's file secrets are mounted at /run/secrets/<name>: here, the operator's files.
        mounted = service_secrets(service, self.operator_env)
        for name, value in env.items():
            if value.startswith("/run/secrets/"):
                assert value in mounted, f"{service} reads {value}, which compose does not mount"
                env[name] = str(mounted[value])
        return env

    def local_database_url(self, url: str) -> str:
        """postgres:5432 is the test server; the database and its role carry the prefix."""
        parts = urlsplit(url)
        server = urlsplit(POSTGRES_URL)
        assert parts.hostname == "postgres" and parts.username == parts.path.lstrip("/")
        netloc = f"{self.prefix}{parts.username}:{parts.password}@{server.hostname}"
        netloc += f":{server.port or 5432}"
        return urlunsplit((parts.scheme, netloc, f"/{self.prefix}{parts.username}", "", ""))

    def start(self) -> None:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            replicas = sum(REPLICAS.get(name, 1) for name in SERVICES)
            ports = iter(free_ports(replicas, avoid={self.config.gateway_port}))
            for name in SERVICES:
                env = self.container_env(name)
                for replica in range(1, REPLICAS.get(name, 1) + 1):
                    port = next(ports)
                    self._spawn(f"{name}-{replica}", name, port, env)
                    self.addresses.setdefault(name, []).append(f"127.0.0.1:{port}")
            for process in list(self.processes):
                self._wait_ready(process)
            gateway_env = self.container_env("gateway")
            gateway_env["UPSTREAM_HOSTS"] = json.dumps(self.addresses)
            self._wait_ready(
                self._spawn("gateway", "gateway", self.config.gateway_port, gateway_env)
            )
        except BaseException:
            self.stop()
            raise


def _postgres_env() -> dict[str, str]:
    server = urlsplit(POSTGRES_URL)
    return {
        "PGHOST": server.hostname or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        "PGUSER": server.username or "postgres",
        "PGDATABASE": server.path.lstrip("/") or "postgres",
    } | ({"PGPASSWORD": server.password} if server.password else {})


def run_postgres_setup(prefix: str, operator_env: dict[str, str]) -> list[str]:
    """ops/postgres-setup.sh with the compose job's environment, names prefixed."""
    job = service_environment("postgres-setup", operator_env)
    names = [f"{prefix}{name}" for name in job["SERVICE_DATABASES"].split()]
    env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ} | _postgres_env()
    env["SERVICE_DATABASES"] = " ".join(names)
    for name in job["SERVICE_DATABASES"].split():
        env[f"{prefix}{name}_DB_PASSWORD".upper()] = job[f"{name.upper()}_DB_PASSWORD"]
    for _ in range(2):  # idempotent: compose runs it at every `up`
        done = subprocess.run(
            ["sh", str(ROOT / "ops" / "postgres-setup.sh")], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    return names


def drop_databases_and_roles(names: list[str]) -> None:
    statements = [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names]
    statements += [f'DROP ROLE IF EXISTS "{n}"' for n in names]
    subprocess.run(
        ["psql", "--no-psqlrc", "-q", *[arg for s in statements for arg in ("-c", s)]],
        env={**os.environ, **_postgres_env()},
        capture_output=True,
        check=False,
    )


@pytest.fixture(scope="module")
def compose_platform(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeParityPlatform]:
    require_postgres()
    if shutil.which("psql") is None:
        # The setup script is the one compose runs, and it speaks to PostgreSQL through psql,
        # which comes with PostgreSQL; where PostgreSQL is required (CI), so is psql.
        if os.environ.get("CI"):
            pytest.fail("psql must be installed on CI to run ops/postgres-setup.sh")
        pytest.skip("psql is needed to run ops/postgres-setup.sh; PostgreSQL answers without it")
    run = uuid.uuid4().hex[:8]
    prefix = f"parity_{run}_"
    # The operator's one-time step: the event signing keys, which compose mounts as secrets.
    keys_dir = tmp_path_factory.mktemp("parity-keys")
    assert hackathon_main(["keys", "init", "--dir", str(keys_dir)]) == 0
    operator_env = filled_env_example(
        HACKATHON_ORGANIZER_EMAIL=ORGANIZER[0],
        HACKATHON_ORGANIZER_PASSWORD=ORGANIZER[1],
        TOPIC_PREFIX=f"parity-{run}.",  # the session's broker is shared with other tests
        EVENT_KEYS_DIR=str(keys_dir),
    )
    names = run_postgres_setup(prefix, operator_env)
    data_dir: Path = tmp_path_factory.mktemp("parity")
    config = PlatformConfig(
        data_dir=data_dir,
        gateway_port=free_port(),
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=operator_env["TOPIC_PREFIX"],
    )
    platform = ComposeParityPlatform(config, operator_env, prefix)
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
        drop_databases_and_roles(names)


async def test_a_service_role_cannot_open_another_services_database(
    compose_platform: ComposeParityPlatform,
) -> None:
    scoring_url = compose_platform.container_env("scoring")["DATABASE_URL"]
    own = await asyncpg.connect(scoring_url)
    await own.close()
    others = scoring_url.rsplit("/", 1)[0] + f"/{compose_platform.prefix}registration"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(others)


async def test_journey_through_the_gateway_with_two_scoring_replicas(
    compose_platform: ComposeParityPlatform,
) -> None:
    api = Api(compose_platform)
    try:
        hackathon = await create_hackathon(api, phase="registration")
        hid = hackathon.hackathon_id
        captain = await participant(api, hackathon, "Captain")
        judge = await participant(api, hackathon, "Judge")
        team = await team_of(api, hackathon, captain)
        organizer = await api.organizer()
        await enrol_judge(api, hackathon, judge)
        await move_to(api, hackathon, "hacking")
        submission = await submit(api, team["team_id"], captain)
        await move_to(api, hackathon, "judging")

        # Right after the move, whichever replica answers sees the phase and the submission.
        assigned = await api.http.post(f"/hackathons/{hid}/assignments", headers=organizer)
        assert assigned.status_code == 200, assigned.text
        assert [a["submission_id"] for a in assigned.json()["assignments"]] == [
            submission["submission_id"]
        ]
        scored = await api.http.put(
            f"/submissions/{submission['submission_id']}/scores/me",
            headers=judge.auth | {"X-Request-ID": f"parity-score-{uuid.uuid4().hex[:8]}"},
            json={"scores": {"impact": 8, "feasibility": 6}},
        )
        assert scored.status_code == 200, scored.text
        request_id = scored.headers["x-request-id"]
        published = await api.http.post(f"/hackathons/{hid}/results", headers=organizer)
        assert published.status_code == 201, published.text
        assert published.json()["entries"][0]["team_id"] == team["team_id"]
        # Right after the results: registration reads the hackathon finished.
        shown = await api.http.get(f"/hackathons/{hid}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["phase"] == "finished"

        # Reads spread over both replicas, which share one database.
        for _ in range(40):
            board = await api.http.get(f"/hackathons/{hid}/leaderboard")
            assert board.status_code == 200 and board.json()["published"] is True
        served = [
            await _requests_served(url, "/hackathons/{hackathon_id}/leaderboard")
            for url in _replica_urls(compose_platform, "scoring")
        ]
        assert all(count > 0 for count in served), served

        # The two relays published each scoring event once, each aggregate's chain intact.
        events = [
            e
            for e in await read_topics(compose_platform, [SCORING_EVENTS])
            if getattr(e.payload, "hackathon_id", None) == hid
        ]
        assert {e.type for e in events} == {"JudgeAssigned", "ScoreSubmitted", "ResultsPublished"}
        assert Counter(e.event_id for e in events).most_common(1)[0][1] == 1
        assert verify_chain(events) == []
        scored_event = next(e for e in events if e.type == "ScoreSubmitted")
        assert scored_event.correlation_id == request_id

        # JSON logs: the request id in the gateway's and in a scoring replica's log.
        def logged() -> bool:
            names = ["gateway"] + [f"scoring-{n}" for n in (1, 2)]
            found = {name: _log_has(compose_platform, name, request_id) for name in names}
            return found["gateway"] and (found["scoring-1"] or found["scoring-2"])

        await wait_until(logged, timeout=10, message=f"request {request_id} in the JSON logs")
    finally:
        await api.close()


async def test_every_replica_serves_metrics_and_health(
    compose_platform: ComposeParityPlatform,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for process in compose_platform.processes:
            assert (await client.get(process.url + "/healthz")).status_code == 200
            assert (await client.get(process.url + "/readyz")).status_code == 200
            if process.name == "gateway":
                continue
            metrics = (await client.get(process.url + "/metrics")).text
            for family in (
                "http_requests_total",
                "events_consumed_total",
                "handler_errors_total",
                "events_dead_lettered_total",
                "outbox_backlog",
                "outbox_published_total",
                "kafka_consumer_lag",
            ):
                assert f"# TYPE {family} " in metrics, (process.name, family)


def _replica_urls(platform: Platform, service: str) -> list[str]:
    return [p.url for p in platform.processes if p.name.startswith(f"{service}-")]


async def _requests_served(url: str, route: str) -> float:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(url + "/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_requests_total{") and f'route="{route}"' in line
    )


def _log_has(platform: Platform, name: str, request_id: str) -> bool:
    path = platform.config.data_dir / "logs" / f"{name}.log"
    for line in path.read_text(errors="replace").splitlines():
        if (
            request_id in line
            and line.startswith("{")
            and json.loads(line).get("request_id") == request_id
        ):
            return True
    return False
