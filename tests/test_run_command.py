"""The README's run command as a person uses it: ``hackathon run`` starts the embedded broker,
every service and the gateway, prints the URL and the organizer's credentials once, keeps the
organizer across restarts of the same data directory, and stops everything on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from hackathon_shared.ports import free_ports, port_is_free
from tests.database_fixtures import drop_postgres_database, postgres_url, require_postgres
from tests.messaging_helpers import read_records
from tests.polling import wait_until


class RunCommand:
    """``hackathon run`` in a child process, its output collected line by line."""

    def __init__(self, data_dir: Path, gateway_port: int, broker_port: int, *options: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HACKATHON_")}
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        env.pop("DATABASE_URL", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hackathon_cli.main",
                "run",
                "--gateway-port",
                str(gateway_port),
                "--broker-port",
                str(broker_port),
                "--data-dir",
                str(data_dir),
                *options,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, text: str, timeout: float = 90) -> None:
        def seen() -> bool:
            if self.process.poll() is not None and text not in self.output:
                raise AssertionError(f"run command exited early:\n{self.output}")
            return text in self.output

        await wait_until(seen, timeout=timeout, message=f"{text!r} in:\n{self.output}")

    def child(self, module: str) -> int:
        """The process id of the run command's child that runs ``module``'s app."""
        wanted = f"{module}.app:create_app"
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":\t", 1)
                    for line in status.read_text().splitlines()
                    if ":\t" in line
                )
                command = (status.parent / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                fields.get("PPid", "").strip() == str(self.process.pid)
                and wanted.encode() in command
            ):
                return int(status.parent.name)
        raise AssertionError(f"no child runs {module}:\n{self.output}")

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=5)
        return code


def broker_pids(run: RunCommand) -> list[str]:
    """The process id of the run command's embedded broker (its only child that is not
    Python)."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(run.process.pid) and "python" not in fields.get(
            "Name", ""
        ):
            pids.append(status.parent.name)
    assert pids, run.output
    return pids


async def sign_in(gateway: str, email: str, password: str) -> int:
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        answer = await client.post(
            "/api/v1/auth/token", json={"email": email, "password": password}
        )
        return answer.status_code


async def welcome_count(gateway: str, email: str, password: str) -> int:
    """Create the account if it does not exist, then count its notifications."""
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        await client.post(
            "/api/v1/accounts", json={"email": email, "password": password, "display_name": "P"}
        )
        token = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        feed = await client.get("/api/v1/notifications", headers=auth)
        assert feed.status_code == 200, feed.text
        return len(feed.json()["items"])


async def welcomed(gateway: str, name: str) -> dict[str, str]:
    """Someone new (``<name>@example.org``), once welcomed, with their token: signed in once,
    since sign-ins are rate-limited per client, and a token outlives a restart."""
    email, password = f"{name}@example.org", f"{name}'s password"
    await wait_until(
        lambda: welcome_count(gateway, email, password), timeout=30, message=f"{name}'s welcome"
    )
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        token = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_run_command_starts_prints_credentials_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    gateway_port, broker_port = free_ports(2)
    gateway = f"http://127.0.0.1:{gateway_port}"
    data_dir = tmp_path / "data"

    first = RunCommand(data_dir, gateway_port, broker_port)
    try:
        await first.wait_for("Press Ctrl-C to stop.")
        assert f"Gateway:    {gateway}" in first.output
        found = re.search(r"Organizer:\s+(\S+)\s+password: (\S+)", first.output)
        assert found, first.output
        email, password = found.groups()
        assert await sign_in(gateway, email, password) == 200
        assert await sign_in(gateway, email, password + "x") == 401
        assert (data_dir / "registration.db").exists()
        await wait_until(
            lambda: welcome_count(gateway, "ada@example.org", "ada's password"),
            timeout=30,
            message="Ada's welcome",
        )
    finally:
        code = first.interrupt()
    assert code == 0, first.output
    assert "Stopped." in first.output
    assert port_is_free(gateway_port) and port_is_free(broker_port)

    # Same data directory again: the organizer is kept, and the password is not printed again.
    second = RunCommand(data_dir, gateway_port, broker_port)
    try:
        await second.wait_for("Press Ctrl-C to stop.")
        assert password not in second.output
        assert "password was printed at the first start" in second.output
        assert await sign_in(gateway, email, password) == 200
        # The new embedded broker starts empty; the services publish their outboxes again,
        # so someone new is welcomed and the replayed old event is not delivered twice.
        await wait_until(
            lambda: welcome_count(gateway, "bob@example.org", "bob's password"),
            timeout=30,
            message="Bob's welcome after the restart",
        )
        assert await welcome_count(gateway, "ada@example.org", "ada's password") == 1
    finally:
        assert second.interrupt() == 0, second.output


async def test_a_process_that_dies_is_started_again_and_the_platform_goes_on(
    tmp_path: Path,
) -> None:
    gateway_port, broker_port = free_ports(2)
    gateway = f"http://127.0.0.1:{gateway_port}"
    run = RunCommand(tmp_path / "data", gateway_port, broker_port)
    try:
        await run.wait_for("Press Ctrl-C to stop.")
        auth = await welcomed(gateway, "cy")
        os.kill(run.child("notifications"), signal.SIGKILL)
        await run.wait_for("notifications exited with -9; starting it again in 1 s")
        await run.wait_for("notifications started again (restart 1 in a row)")

        async def notifications_answer() -> bool:
            async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
                answer = await client.get("/api/v1/notifications", headers=auth)
                if answer.status_code == 503:
                    assert answer.json()["type"].endswith("/service-unavailable"), answer.text
                    return False
                assert answer.status_code == 200, answer.text
                return True

        # A process starting is asynchronous by nature: until it listens, the gateway
        # answers 503 service-unavailable for its routes.
        await wait_until(
            notifications_answer, timeout=60, message=f"notifications back:\n{run.output}"
        )
        # Someone new is welcomed by the new process, and the restart republished nothing,
        # so Cy's welcome is still the only one.
        await wait_until(
            lambda: welcome_count(gateway, "dee@example.org", "dee's password"),
            timeout=30,
            message="Dee's welcome after the restart",
        )
        assert await welcome_count(gateway, "cy@example.org", "cy's password") == 1
        assert "Stopping" not in run.output
    finally:
        assert run.interrupt() == 0, run.output


async def test_the_run_command_makes_one_postgresql_database_per_service(tmp_path: Path) -> None:
    require_postgres()
    base = f"hackathon_run_{secrets.token_hex(4)}"
    gateway_port, broker_port = free_ports(2)
    gateway = f"http://127.0.0.1:{gateway_port}"
    run = RunCommand(
        tmp_path / "data", gateway_port, broker_port, "--database-url", postgres_url(base)
    )
    try:
        await run.wait_for("Press Ctrl-C to stop.")
        for service in ("registration", "submissions", "scoring", "notifications"):
            assert f"Created the database {base}_{service}" in run.output
        assert not list((tmp_path / "data").glob("*.db")), "no SQLite file is made"
        found = re.search(r"Organizer:\s+(\S+)\s+password: (\S+)", run.output)
        assert found, run.output
        assert await sign_in(gateway, *found.groups()) == 200
    finally:
        assert run.interrupt() == 0, run.output
        for service in ("registration", "submissions", "scoring", "notifications"):
            drop_postgres_database(f"{base}_{service}")


async def test_a_database_url_that_is_not_postgresql_is_refused_clearly(tmp_path: Path) -> None:
    gateway_port, broker_port = free_ports(2)
    run = RunCommand(
        tmp_path / "data", gateway_port, broker_port, "--database-url", "mysql://x@127.0.0.1/db"
    )
    code = run.process.wait(timeout=60)
    run._reader.join(timeout=5)
    assert code == 1
    assert "could not start: --database-url takes a PostgreSQL server" in run.output
    assert port_is_free(gateway_port) and port_is_free(broker_port)


async def test_a_dead_broker_is_started_again_and_the_services_publish_their_outboxes_again(
    tmp_path: Path,
) -> None:
    gateway_port, broker_port = free_ports(2)
    gateway = f"http://127.0.0.1:{gateway_port}"
    run = RunCommand(tmp_path / "data", gateway_port, broker_port)
    try:
        await run.wait_for("Press Ctrl-C to stop.")
        eve = await welcomed(gateway, "eve")
        # The broker dies, and its log (in memory) with it.
        os.kill(int(next(line for line in broker_pids(run))), signal.SIGKILL)
        await run.wait_for("the embedded broker exited; its log (in memory) is lost.")
        await run.wait_for(f"the embedded broker started again on 127.0.0.1:{broker_port}")
        # Each service notices the new log, stops, and is started again: it then publishes
        # its outbox again and its consumers read the new log from the start.
        for service in ("registration", "submissions", "scoring", "notifications"):
            await run.wait_for(f"{service} started again", timeout=120)

        # Services starting again are asynchronous by nature: until one listens, the gateway
        # answers 503 for its routes.
        async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:

            async def signed_up() -> dict[str, str] | None:
                fay = {"email": "fay@example.org", "password": "fay's password"}
                created = await client.post("/api/v1/accounts", json={**fay, "display_name": "F"})
                if created.status_code == 503:
                    return None
                assert created.status_code in (201, 409), created.text
                token = await client.post("/api/v1/auth/token", json=fay)
                assert token.status_code == 200, token.text
                return {"Authorization": f"Bearer {token.json()['access_token']}"}

            fay = await wait_until(signed_up, timeout=120, interval=1, message=run.output)

            async def feed(auth: dict[str, str]) -> list[dict[str, str]] | None:
                answer = await client.get("/api/v1/notifications", headers=auth)
                if answer.status_code == 503:
                    return None
                assert answer.status_code == 200, answer.text
                items: list[dict[str, str]] = answer.json()["items"]
                return items or None

            await wait_until(
                lambda: feed(fay), timeout=120, message=f"Fay's welcome:\n{run.output}"
            )
            # Eve was not welcomed twice ...
            assert len(await wait_until(lambda: feed(eve), timeout=60, message="Eve's feed")) == 1
            me = (await client.get("/api/v1/me", headers=eve)).json()
        # ... and her account, decided before the loss, is in the new log again: registration
        # published its outbox again (the run command asked for nothing).
        assert "OUTBOX_REPUBLISH" not in run.output
        records = await read_records(f"127.0.0.1:{broker_port}", "registration.events", 1)
        created = [json.loads(r.value) for r in records]
        assert any(
            e["type"] == "AccountCreated" and e["aggregate_id"] == me["account_id"] for e in created
        ), created
    finally:
        assert run.interrupt() == 0, run.output
