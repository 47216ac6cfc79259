"""The audit against a real broker: the same verification from the broker and from its export;
and, on the running platform, a full hackathon that verifies clean and whose read models
rebuilt from the log equal the live ones."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from audit.log import LogRecord
from audit.report import render
from audit.sample import LogBuilder, judged_hackathon
from audit.verify import verify
from hackathon_cli.main import main
from hackathon_cli.platform import Platform
from hackathon_shared.events.catalogue import (
    HackathonPhaseChanged,
    ScoreSubmitted,
    ScoreSubmittedPayload,
    decode_event,
)
from hackathon_shared.kafka_admin import ensure_topics
from hackathon_shared.topics import EVENT_TOPICS
from tests.journey_helpers import (
    create_hackathon,
    enrol_judge,
    move_to,
    participant,
    platform_log,
    submission_body,
    submit,
    team_of,
)
from tests.platform_fixtures import Api, live_database_url
from tests.polling import wait_until

Json = dict[str, Any]


async def _publish(bootstrap: str, log: LogBuilder) -> None:
    await ensure_topics(bootstrap, [log.prefix + t for t in EVENT_TOPICS], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for record in log.records():  # each aggregate's events in their order
            await producer.send_and_wait(record.topic, record.value, key=record.key)
    finally:
        await producer.stop()


def _without_source(report: Json) -> Json:
    return {k: v for k, v in report.items() if k != "source"}


def test_the_broker_and_its_export_give_the_same_answer(
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = LogBuilder(prefix=topic_prefix)
    hackathon = judged_hackathon(log)
    submission = hackathon.submissions[hackathon.teams[2]]
    outsider = next(j for j in hackathon.judges if j not in hackathon.assignments[submission])
    forged = log.add(  # a score by a judge never assigned, sealed into the chain
        ScoreSubmitted,
        ScoreSubmittedPayload(
            hackathon_id=hackathon.hackathon_id,
            submission_id=submission,
            judge_id=outsider,
            scores={"impact": 10.0, "feasibility": 10.0},
            total=10.0,
            revision=1,
        ),
        aggregate_id=submission,
        occurred_at=hackathon.results.occurred_at - timedelta(milliseconds=100),
    )
    asyncio.run(_publish(kafka_bootstrap, log))
    broker = ["--bootstrap-servers", kafka_bootstrap, "--topic-prefix", topic_prefix]
    export = tmp_path / "export.jsonl"

    assert main(["audit", "export", *broker, "--out", str(export)]) == 0
    lines = export.read_text().splitlines()
    assert len(lines) == len(log.records())
    first = json.loads(lines[0])
    assert {"topic", "partition", "offset", "key", "value"} <= set(first)
    assert first["topic"].startswith(topic_prefix)
    capsys.readouterr()

    # A sample log is unsigned: who wrote it is not what this test checks.
    assert main(["audit", "verify", *broker, "--json", "--no-signatures"]) == 1
    from_broker = json.loads(capsys.readouterr().out)
    assert main(["audit", "verify", "--from", str(export), "--json", "--no-signatures"]) == 1
    from_export = json.loads(capsys.readouterr().out)

    assert _without_source(from_broker) == _without_source(from_export)
    assert "broker" in from_broker["source"] and "export" in from_export["source"]
    [finding] = from_broker["findings"]
    assert finding["kind"] == "score-by-unassigned-judge"
    assert finding["event"]["event_id"] == str(forged.event_id)
    assert from_broker["records"] == len(log.records())
    assert [r["matches"] for r in from_broker["results"]] == [True]


def test_verify_reports_an_unreachable_broker(capsys: pytest.CaptureFixture[str]) -> None:
    unreachable = ["--bootstrap-servers", "127.0.0.1:1", "--timeout", "2"]
    code = main(["audit", "verify", *unreachable, "--json", "--no-signatures"])
    assert code == 2
    assert "cannot reach the broker" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# On the running platform
# --------------------------------------------------------------------------------------------


def _finishes(record: LogRecord, hackathon_id: str) -> bool:
    """The record is the hackathon's move to the finished phase."""
    if record.key != hackathon_id.encode() or record.value is None:
        return False
    event = decode_event(record.value)
    return isinstance(event, HackathonPhaseChanged) and event.payload.to_phase == "finished"


async def cli(*args: str) -> tuple[int, str, str]:
    """Run ``hackathon`` in a process of its own (its commands call ``asyncio.run``, which
    cannot run inside this test's event loop)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hackathon_cli.main",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_judged_hackathon_verifies_clean_and_rebuilds_equal(
    api: Api, tmp_path: Path
) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    hid = hackathon.hackathon_id
    captains = [await participant(api, hackathon, f"AuditCaptain{i}") for i in range(2)]
    teams = [await team_of(api, hackathon, captain) for captain in captains]
    judge = await participant(api, hackathon, "AuditJudge")
    await enrol_judge(api, hackathon, judge)
    await move_to(api, hackathon, "hacking")
    submissions = [
        await submit(api, team["team_id"], captain, submission_body(title=f"Audited {i}"))
        for i, (team, captain) in enumerate(zip(teams, captains, strict=True))
    ]
    await move_to(api, hackathon, "judging")
    organizer = await api.organizer()

    async def assigned() -> bool:
        answer = await api.http.post(f"/hackathons/{hid}/assignments", headers=organizer)
        return answer.status_code == 200 and len(answer.json()["assignments"]) == 2

    await wait_until(assigned, timeout=30, message="scoring knows both submissions")
    for number, submission in enumerate(submissions):
        scored = await api.http.put(
            f"/submissions/{submission['submission_id']}/scores/me",
            headers=judge.auth,
            json={"scores": {"impact": 4.0 + 3 * number, "feasibility": 6.0}},
        )
        assert scored.status_code == 200, scored.text
    published = await api.http.post(f"/hackathons/{hid}/results", headers=organizer)
    assert published.status_code == 201, published.text

    platform = api.platform
    broker = [
        "--bootstrap-servers",
        platform.bootstrap_servers,
        "--topic-prefix",
        platform.config.topic_prefix,
        "--hackathon",
        hid,
    ]
    seen: list[str] = []

    async def clean_with_results() -> bool:
        # The results and the finish reach the log a moment after the answers above.
        records = await platform_log(platform)
        report = verify(records, hackathons=[hid])
        seen[:] = [render(report)]
        finished = any(_finishes(r, hid) for r in records)
        return report.clean and [r.matches for r in report.results] == [True] and finished

    await wait_until(
        clean_with_results,
        timeout=60,
        interval=0.5,
        message=lambda: f"the audit of {hid} never came out clean with its results: {seen}",
    )
    code, out, err = await cli("audit", "verify", *broker, "--keys", str(platform.keys.trusted))
    assert code == 0, (out, err)
    assert "CLEAN" in out and "1 awards" in out
    # Every service that published signed what it published, with its own key.
    signers = next(line for line in out.splitlines() if "signed by:" in line)
    for service in ("registration", "submissions", "scoring"):
        assert f"{service}-" in signers, signers

    for service in ("scoring", "submissions"):
        await wait_until(
            _rebuilt_equal(service, platform, broker, tmp_path),
            timeout=60,
            interval=0.5,
            message=f"the rebuilt {service} read model never equalled the live one",
        )


def _rebuilt_equal(
    service: str, platform: Platform, broker: list[str], tmp_path: Path
) -> Callable[[], Awaitable[bool]]:
    attempts: list[tuple[int, str, str]] = []

    async def equal() -> bool:
        target = tmp_path / f"{service}-{len(attempts)}.db"  # a fresh database each time
        code, out, err = await cli(
            "audit",
            "rebuild",
            service,
            "--database",
            f"sqlite:///{target}",
            "--live",
            live_database_url(platform, service),
            *broker,
            "--keys",
            str(platform.keys.trusted),
        )
        attempts.append((code, out[-3000:], err[-2000:]))
        if code == 2:
            raise AssertionError(f"rebuild of {service} failed: {err}")
        return code == 0 and "EQUAL" in out

    return equal
