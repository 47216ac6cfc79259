"""Starting the whole platform as separate processes: the embedded broker (unless a broker is
given), every service and the gateway, each service with its own database.

Used by ``hackathon run`` and by the end-to-end tests, so that the tests exercise exactly what
a person runs.

A service may run as several replicas (``PlatformConfig.replicas``), each a process of its own
on its own port, all sharing the service's database (PostgreSQL: an SQLite file serves one
process) and its consumer groups. The gateway then reaches them as Docker's DNS would give
them, through ``UPSTREAM_HOSTS`` (gateway.balancing): the service's URL names the service, and
that name maps to every replica's address."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hackathon_cli.embedded_broker import EmbeddedBroker, EmbeddedBrokerError
from hackathon_shared.ports import free_ports
from hackathon_shared.signing import KeyFiles, ensure_platform_keys

SERVICES = ("registration", "submissions", "scoring", "notifications")


class PlatformError(RuntimeError):
    pass


def ensure_secret(path: Path) -> str:
    """A random secret kept in ``path`` (made once, readable by its owner only)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


@dataclass
class PlatformConfig:
    data_dir: Path
    gateway_port: int = 8080
    broker_port: int | None = 9092
    bootstrap_servers: str | None = None  # an external broker; None starts the embedded one
    topic_prefix: str = ""
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    organizer_email: str | None = None
    organizer_password: str | None = None
    database_urls: dict[str, str] = field(default_factory=dict)  # default: SQLite files
    extra_env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 60.0
    # Processes per service (default one each), e.g. {"submissions": 2, "scoring": 2}; a
    # service with several needs a PostgreSQL database in ``database_urls``.
    replicas: dict[str, int] = field(default_factory=dict)
    # The web app (services/web), served by the gateway at ``/``.
    web: bool = True

    def replicas_of(self, service: str) -> int:
        return self.replicas.get(service, 1)

    def check_replicas(self) -> None:
        for name, count in self.replicas.items():
            if name not in SERVICES:
                raise PlatformError(f"replicas of {name!r}: not a service ({', '.join(SERVICES)})")
            if count < 1:
                raise PlatformError(f"replicas of {name}: {count}, at least 1 is needed")
            if count > 1 and not self.database_urls.get(name, "").startswith("postgresql"):
                raise PlatformError(
                    f"{count} replicas of {name} need a shared PostgreSQL database in "
                    "database_urls (an SQLite file serves one process)"
                )


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    url: str
    log_path: Path
    service: str  # what its /readyz must answer as
    port: int
    env: dict[str, str]
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0  # in a row, each after a short life (see Platform.supervise)
    restart_at: float | None = None  # when a dead process is due to start again


RESTART_BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
"""How long the run command waits before starting a dead process again, by how many times in
a row it died young; a process that lived ``HEALTHY_AFTER_SECONDS`` starts the count again."""
HEALTHY_AFTER_SECONDS = 60.0


class Platform:
    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self.broker: EmbeddedBroker | None = None
        self.processes: list[_Process] = []
        self._broker_restart_at: float | None = None
        self.bootstrap_servers = config.bootstrap_servers or ""
        # The event signing keys (made or found in the data directory when it starts).
        self.keys = KeyFiles(config.data_dir / "keys")

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    def service_url(self, name: str) -> str:
        """The URL of the process called ``name``, or of a service's first replica."""
        named = [p.url for p in self.processes if p.name == name]
        return named[0] if named else self.replica_urls(name)[0]

    def replica_urls(self, service: str) -> list[str]:
        """The URL of each replica of ``service``, in replica order (one for a service that
        runs as one process)."""
        urls = [p.url for p in self.processes if p.service == service]
        if not urls:
            raise PlatformError(f"no process of {service!r} is running")
        return urls

    def _base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "HACKATHON_DATA_DIR": str(self.config.data_dir),
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                "TOPIC_PREFIX": self.config.topic_prefix,
                "HACKATHON_JWT_SECRET": self.config.jwt_secret,
                "PYTHONUNBUFFERED": "1",
            }
        )
        # No OUTBOX_REPUBLISH_ON_START: the embedded broker keeps its log in memory only, and
        # each service notices by itself that a fresh broker lacks its events, and publishes
        # its outbox again (hackathon_shared.log_loss); a restart on an intact log does not.
        env.update(self.config.extra_env)
        return env

    def _spawn(self, name: str, module: str, port: int, env: dict[str, str]) -> _Process:
        process = _Process(
            name,
            self._popen(name, module, port, env),
            f"http://127.0.0.1:{port}",
            self._log_path(name),
            module,
            port,
            env,
        )
        self.processes.append(process)
        return process

    def _log_path(self, name: str) -> Path:
        logs = self.config.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return logs / f"{name}.log"

    def _popen(
        self, name: str, module: str, port: int, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"{module}.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            # Every process is on 127.0.0.1, as is anything else running on this machine:
            # uvicorn's default would believe X-Forwarded-For from all of them. The gateway
            # decides the client from TRUSTED_PROXIES itself, and tells the services, signed
            # (docs/sign-in-and-proxies.md).
            "--no-proxy-headers",
        ]
        with self._log_path(name).open("ab") as log_file:
            return subprocess.Popen(
                command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait_ready(self, process: _Process) -> None:
        deadline = time.monotonic() + self.config.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise PlatformError(
                    f"{process.name} exited with {process.popen.returncode}:\n"
                    + _tail(process.log_path)
                )
            try:
                answer = httpx.get(process.url + "/readyz", timeout=2.0)
                if answer.status_code == 200 and answer.json().get("service") == process.service:
                    return
                last = answer.text
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(0.1)
        raise PlatformError(
            f"{process.name} not ready after {self.config.ready_timeout}s ({last}):\n"
            + _tail(process.log_path)
        )

    def start(self) -> None:
        self.config.check_replicas()
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            if not self.bootstrap_servers:
                self.broker = EmbeddedBroker(
                    port=self.config.broker_port,
                    avoid_ports={self.config.gateway_port},
                    log_path=self.config.data_dir / "logs" / "broker.log",
                )
                self.broker.start()
                self.bootstrap_servers = self.broker.bootstrap_servers
            env = self._base_env()
            # Generated into the data directory once, then reused (docs/event-signing.md).
            self.keys = ensure_platform_keys(self.config.data_dir / "keys", SERVICES)
            urls: dict[str, str] = {}
            upstream_hosts: dict[str, list[str]] = {}
            counts = {name: self.config.replicas_of(name) for name in SERVICES}
            ports = iter(free_ports(sum(counts.values()) + 1, avoid={self.config.gateway_port}))
            for name in SERVICES:
                service_env = dict(env)
                service_env["SERVICE_NAME"] = name
                # Each service signs its events with its own key; all trust the same file.
                service_env["EVENT_SIGNING_KEY_FILE"] = str(self.keys.signing_key(name))
                service_env["EVENT_TRUSTED_KEYS_FILE"] = str(self.keys.trusted)
                service_env.pop("DATABASE_URL", None)  # never one database for all services
                if name in self.config.database_urls:
                    service_env["DATABASE_URL"] = self.config.database_urls[name]
                if name == "registration":
                    if self.config.organizer_email and self.config.organizer_password:
                        service_env["HACKATHON_ORGANIZER_EMAIL"] = self.config.organizer_email
                        service_env["HACKATHON_ORGANIZER_PASSWORD"] = self.config.organizer_password
                    else:
                        service_env.pop("HACKATHON_ORGANIZER_EMAIL", None)
                        service_env.pop("HACKATHON_ORGANIZER_PASSWORD", None)
                if counts[name] == 1:
                    process = self._spawn(name, name, next(ports), service_env)
                    urls[f"{name.upper()}_URL"] = process.url
                    continue
                for replica in range(1, counts[name] + 1):
                    process = self._spawn(f"{name}-{replica}", name, next(ports), service_env)
                    upstream_hosts.setdefault(name, []).append(process.url.split("//", 1)[1])
                # The name stands for every replica (gateway.balancing's static hosts).
                urls[f"{name.upper()}_URL"] = f"http://{name}"
            for process in list(self.processes):
                self._wait_ready(process)
            gateway_env = env | urls
            if upstream_hosts:
                given = json.loads(env.get("UPSTREAM_HOSTS") or "{}")
                gateway_env["UPSTREAM_HOSTS"] = json.dumps(given | upstream_hosts)
            web_port = next(ports)
            if self.config.web:
                gateway_env["WEB_URL"] = f"http://127.0.0.1:{web_port}"
            gateway = self._spawn("gateway", "gateway", self.config.gateway_port, gateway_env)
            self._wait_ready(gateway)
            if self.config.web:
                web_env = dict(env)
                web_env["GATEWAY_URL"] = self.gateway_url
                web_env["WEB_SESSION_SECRET"] = ensure_secret(
                    self.config.data_dir / "keys" / "web-session.secret"
                )
                self._wait_ready(self._spawn("web", "web", web_port, web_env))
        except BaseException:
            self.stop()
            raise

    def exited(self) -> list[str]:
        """Names of processes that have stopped on their own."""
        return [p.name for p in self.processes if p.popen.poll() is not None]

    def supervise(self, now: float | None = None) -> list[str]:
        """Start again every process that died, each after its backoff
        (``RESTART_BACKOFF_SECONDS``), on its port and with its environment; the embedded
        broker too, on its port, empty: the services notice the new log and publish their
        outboxes again (a service's own restart republishes nothing). Returns one line per
        death and per restart, for the run command's output."""
        now = time.monotonic() if now is None else now
        said: list[str] = [line for line in self._supervise_broker(now) if line]
        for process in self.processes:
            code = process.popen.poll()
            if code is None:
                if now - process.started_at >= HEALTHY_AFTER_SECONDS:
                    process.restarts = 0
                continue
            if process.restart_at is None:
                if now - process.started_at >= HEALTHY_AFTER_SECONDS:
                    process.restarts = 0
                delay = RESTART_BACKOFF_SECONDS[
                    min(process.restarts, len(RESTART_BACKOFF_SECONDS) - 1)
                ]
                process.restart_at = now + delay
                said.append(
                    f"{process.name} exited with {code}; starting it again in {delay:g} s "
                    f"(log: {process.log_path})"
                )
                continue
            if now < process.restart_at:
                continue
            process.popen = self._popen(process.name, process.service, process.port, process.env)
            process.started_at, process.restart_at = now, None
            process.restarts += 1
            said.append(f"{process.name} started again (restart {process.restarts} in a row)")
        return said

    def _supervise_broker(self, now: float) -> list[str]:
        broker = self.broker
        if broker is None or broker.running:
            return []
        if self._broker_restart_at is None:
            self._broker_restart_at = now + RESTART_BACKOFF_SECONDS[0]
            return [
                f"the embedded broker exited; its log (in memory) is lost. Starting it again "
                f"in {RESTART_BACKOFF_SECONDS[0]:g} s; the services will publish their outboxes "
                "again"
            ]
        if now < self._broker_restart_at:
            return []
        # Every service stops before the new, empty log exists: a send still in flight in a
        # service's producer would otherwise land on it ahead of the rows before it. Started
        # again on the new log, each service finds it lost and publishes its outbox in order.
        stopped = self._stop_services(now)
        port = broker.port
        broker.stop()
        self.broker = EmbeddedBroker(
            port=port, log_path=self.config.data_dir / "logs" / "broker.log"
        )
        try:
            self.broker.start()
        except EmbeddedBrokerError as error:
            self.broker = broker  # not running: tried again after the next backoff
            self._broker_restart_at = now + RESTART_BACKOFF_SECONDS[-1]
            return [f"the embedded broker did not start again: {error}"]
        self._broker_restart_at = None
        return [
            f"stopped {', '.join(stopped)} before the new log" if stopped else "",
            f"the embedded broker started again on {self.broker.bootstrap_servers}",
        ]

    def _stop_services(self, now: float, timeout: float = 10.0) -> list[str]:
        """Stop every service process (not the gateway) and have it started again at once."""
        running = [p for p in self.processes if p.service in SERVICES and p.popen.poll() is None]
        for process in running:
            process.popen.terminate()
        for process in running:
            try:
                process.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
            process.restart_at = now  # started again by the next round of supervise
        return [p.name for p in running]

    def stop(self, timeout: float = 10.0) -> None:
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in reversed(self.processes):
            try:
                process.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
        self.processes.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
