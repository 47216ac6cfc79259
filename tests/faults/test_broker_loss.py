"""The embedded broker killed (its log, in memory only, is lost) and started again on its
port, as the run command does it, while the services run: between two bursts, and in the
middle of one with the writes going on (a careful client retries with the same
Idempotency-Key after a 503, a 504 or a lost connection). The supervisor stops every service
before the new, empty log exists (so that no send still in flight lands on it out of order),
starts the broker and then the services again; each must find the log lost by itself and
publish its outbox again, with no operator step. Afterwards every acknowledged effect exists
once, every feed and e-mail is exactly what it would have been, ``audit verify`` is clean and
the dead-letter topics are empty."""

from __future__ import annotations

import pytest

from hackathon_cli.platform import SERVICES, Platform
from tests.faults.ledger import (
    Client,
    Fault,
    check_all,
    describe,
    kill_broker,
    log_lines,
    restart_broker,
    restart_dead,
    run_hackathon,
    summary,
)
from tests.mail_fixtures import SmtpServer

pytestmark = pytest.mark.faults

NOTICE_SECONDS = 45.0
"""How long every service has to notice the lost log, stop and answer again once started
again (a check every 3 s, a stop within 5 s, the supervisor's backoff of 1 s, a start)."""


# On SQLite only (the loss mid-burst below runs on both databases), so that the suite fits CI.
@pytest.mark.parametrize("faulty_platform", ["sqlite"], indirect=True)
async def test_the_broker_lost_between_bursts_is_noticed_and_nothing_is_lost_or_doubled(
    faulty_platform: Platform, smtp_server: SmtpServer
) -> None:
    """Lost once the teams are formed, while nothing is being written; the versions are
    submitted once the services are back, on the new log."""
    await _lose_the_log_during(faulty_platform, smtp_server, "submissions", after=0)


async def test_the_broker_lost_mid_burst_is_noticed_and_nothing_is_lost_or_doubled(
    faulty_platform: Platform, smtp_server: SmtpServer
) -> None:
    """Lost on the third acknowledged version, the other versions still coming."""
    await _lose_the_log_during(faulty_platform, smtp_server, "submissions", after=3)


async def _lose_the_log_during(
    platform: Platform, smtp_server: SmtpServer, stage: str, after: int
) -> None:
    client = Client(platform)
    said: list[str] = []

    async def lose_the_log() -> None:
        before = {p.name: p.popen.pid for p in platform.processes if p.name in SERVICES}
        kill_broker(platform)
        # The supervisor stops every service, starts the broker again (empty), and starts
        # the services again on it; each finds the log lost and publishes its outbox again.
        await restart_broker(platform, said=said)
        await restart_dead(
            platform, SERVICES, timeout=NOTICE_SECONDS, said=said, pids_before=before
        )

    try:
        ledger = await run_hackathon(client, fault=Fault(stage, lose_the_log, after=after))
        outcome = await check_all(platform, client, ledger, smtp_server)
    finally:
        await client.close()
    print(f"\n{summary(outcome, client)}")
    evidence = describe(outcome, platform, said, [*SERVICES, "gateway"])
    # Each service noticed by itself and was started again; nobody asked for a republish.
    for service in SERVICES:
        assert any(f"{service} started again" in line for line in said), evidence
        assert log_lines(platform, service, "the log was lost"), evidence
    assert "OUTBOX_REPUBLISH_ON_START" not in platform.processes[0].env
    assert not outcome.problems, evidence
