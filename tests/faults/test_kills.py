"""SIGKILL of each service in the middle of a burst of writes, on SQLite and on PostgreSQL,
and of a service the moment its write was acknowledged (its relay between publishing the
events and marking them published): once the process is started again as the run command
does it (``Platform.supervise``), every acknowledged write has its effect once, every feed and
e-mail is exact, ``audit verify`` is clean (a ``redelivered`` note is fine) and the dead-letter
topics are empty."""

from __future__ import annotations

import pytest

from hackathon_cli.platform import Platform
from tests.faults.ledger import (
    Client,
    Fault,
    check_all,
    describe,
    duplicate_records,
    kill,
    restart_dead,
    run_hackathon,
    summary,
)
from tests.journey_helpers import platform_log
from tests.mail_fixtures import SmtpServer

pytestmark = pytest.mark.faults

# Each service killed where it is busiest: registration while people sign up and register,
# notifications while teams form (each join notifies and mails the members), submissions while
# versions come in, scoring while the judge scores.
KILLS = [
    ("registration", "people"),
    ("notifications", "teams"),
    ("submissions", "submissions"),
    ("scoring", "scores"),
]


@pytest.mark.parametrize(("service", "stage"), KILLS, ids=[s for s, _ in KILLS])
async def test_a_service_killed_mid_burst_loses_and_doubles_nothing(
    faulty_platform: Platform, smtp_server: SmtpServer, service: str, stage: str
) -> None:
    platform = faulty_platform
    client = Client(platform)
    said: list[str] = []
    killed: list[int] = []

    async def kill_and_restart() -> None:
        killed.append(kill(platform, service))
        await restart_dead(platform, [service], said=said)

    try:
        ledger = await run_hackathon(client, fault=Fault(stage, kill_and_restart, after=3))
        outcome = await check_all(
            platform,
            client,
            ledger,
            smtp_server,
            # Killed between sending an e-mail and recording it, the dispatcher sends it
            # again with the same Message-ID (at-least-once, receivers drop the copy).
            same_message_again=service == "notifications",
        )
    finally:
        await client.close()
    print(f"\n{summary(outcome, client)}")
    assert killed and any(f"{service} started again" in line for line in said), said
    assert not outcome.problems, describe(outcome, platform, said, [service, "gateway"])


# On SQLite only: the kills above cover PostgreSQL, and the suite must fit CI.
@pytest.mark.parametrize("faulty_platform", ["sqlite"], indirect=True)
async def test_a_service_killed_the_moment_its_write_is_acknowledged_publishes_it_once(
    faulty_platform: Platform, smtp_server: SmtpServer
) -> None:
    """A write is answered once the broker accepted its events, before the relay marks them
    published: a kill right on the first acknowledged team leaves them published and
    unmarked, and the restarted relay publishes them again. Consumers must take the copy for
    what it is (the inbox drops it), and the audit notes it as redelivered, no finding."""
    platform = faulty_platform
    client = Client(platform)
    said: list[str] = []

    async def kill_at_once() -> None:
        kill(platform, "registration")
        await restart_dead(platform, ["registration"], said=said)

    try:
        ledger = await run_hackathon(client, fault=Fault("teams", kill_at_once, after=1))
        outcome = await check_all(platform, client, ledger, smtp_server)
    finally:
        await client.close()
    print(f"\n{summary(outcome, client)}")
    assert not outcome.problems, describe(outcome, platform, said, ["registration", "gateway"])
    # What the kill hit, for the record: copies on the log are noted, never findings.
    copies = duplicate_records(await platform_log(platform))
    assert outcome.report is not None
    redelivered = [n for n in outcome.report.notes if n.kind == "redelivered"]
    print(f"copies on the log: {copies}; redelivered notes for this hackathon: {len(redelivered)}")
