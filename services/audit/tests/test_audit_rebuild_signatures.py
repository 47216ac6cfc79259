"""``audit rebuild`` checks who wrote each event before replaying it (issue 15), as the
consumers do: a chain-valid forgery on the broker is refused, named, and kept out of the
rebuilt read model, and the command exits 1; given ``--no-signatures`` it replays whatever
the log holds and says so; given neither, it does not run.

The log is a judged hackathon signed with each producer's own key (``LogBuilder`` with
signers), published to the embedded broker with the signatures in the record headers, plus an
outsider's ``TeamMemberJoined`` that continues a team's chain, published twice: unsigned, and
signed by a key that merely claims registration's key id."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.sample import LogBuilder, judged_hackathon
from audit.verify import verify
from hackathon_cli.main import main
from hackathon_shared.events.catalogue import TeamMemberJoined, TeamMemberJoinedPayload
from hackathon_shared.kafka_admin import ensure_topics
from hackathon_shared.signing import (
    EventSigner,
    KeyFiles,
    ensure_platform_keys,
    load_signer,
    load_trusted_keys,
)
from hackathon_shared.topics import EVENT_TOPICS, EVENTS_TOPIC_OF_PRODUCER


@dataclass
class ForgedLog:
    log: LogBuilder
    keys: KeyFiles
    team_id: str
    outsider: str
    unsigned: str  # event ids
    false_key: str


def forged_log(prefix: str, directory: Path) -> ForgedLog:
    keys = ensure_platform_keys(directory / "keys", EVENTS_TOPIC_OF_PRODUCER)
    signers = {p: load_signer(keys.signing_key(p), p) for p in EVENTS_TOPIC_OF_PRODUCER}
    log = LogBuilder(prefix=prefix, signers=dict(signers))
    judged = judged_hackathon(log)
    team_id, outsider = judged.teams[1], judged.judges[2]  # a judge, in no team

    def forged_join() -> str:
        event = log.add(
            TeamMemberJoined,
            TeamMemberJoinedPayload(
                team_id=team_id, hackathon_id=judged.hackathon_id, account_id=outsider
            ),
            aggregate_id=team_id,
        )
        return str(event.event_id)

    real = signers["registration"]
    del log.signers["registration"]
    unsigned = forged_join()
    impostor = EventSigner("registration", real.key_id, Ed25519PrivateKey.generate())
    log.signers["registration"] = impostor
    false_key = forged_join()
    log.signers["registration"] = real
    return ForgedLog(log, keys, team_id, outsider, unsigned, false_key)


async def publish(bootstrap: str, log: LogBuilder) -> None:
    """Every record of ``log`` on the broker, with its headers, each aggregate's in order."""
    await ensure_topics(bootstrap, [log.prefix + t for t in EVENT_TOPICS], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for record in log.records():
            await producer.send_and_wait(
                record.topic, record.value, key=record.key, headers=list(record.headers)
            )
    finally:
        await producer.stop()


def hackathon(*args: str) -> subprocess.CompletedProcess[str]:
    """``hackathon ARGS`` in a process of its own (a rebuild loads one service's tables,
    which another service's tests in this process may have loaded too), with no trusted-keys
    file in its environment."""
    env = {k: v for k, v in os.environ.items() if k != "EVENT_TRUSTED_KEYS_FILE"}
    return subprocess.run(
        [sys.executable, "-m", "hackathon_cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


def members(database: Path, team_id: str) -> set[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT account_id FROM known_members WHERE team_id = ?", (team_id,))
        return {row[0] for row in rows}


def test_a_rebuild_refuses_and_names_forged_events_and_leaves_them_out(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = forged_log(topic_prefix, tmp_path)
    asyncio.run(publish(kafka_bootstrap, forged.log))
    broker = ["--bootstrap-servers", kafka_bootstrap, "--topic-prefix", topic_prefix]
    trusted = str(forged.keys.trusted)

    checked = tmp_path / "checked.db"
    done = hackathon(
        "audit", "rebuild", "submissions", "--database", f"sqlite:///{checked}", *broker,
        "--keys", trusted, "--json",
    )  # fmt: skip
    assert done.returncode == 1, (done.stdout, done.stderr)
    answer = json.loads(done.stdout)
    assert answer["signatures_checked"] is True
    refused = {(r["event_id"], r["kind"]) for r in answer["refused"]}
    assert refused == {(forged.unsigned, "unsigned"), (forged.false_key, "bad-signature")}
    assert all(r["type"] == "TeamMemberJoined" for r in answer["refused"])
    assert all(r["aggregate_id"] == forged.team_id for r in answer["refused"])
    assert set(answer["signed_by"]) == {
        load_signer(forged.keys.signing_key(p), p).key_id
        for p in ("registration", "scoring", "submissions")
    }
    # The rebuilt read model is the one the consumers hold: the outsider is no member.
    assert forged.outsider not in members(checked, forged.team_id)
    assert members(checked, forged.team_id)  # the real members are there

    # Said in the text form too, with the same exit status.
    text = hackathon(
        "audit", "rebuild", "submissions", "--database", f"sqlite:///{tmp_path / 'text.db'}",
        *broker, "--keys", trusted,
    )  # fmt: skip
    assert text.returncode == 1, text.stderr
    assert "REFUSED 2 events whose signature does not check" in text.stdout
    assert f"[signature: unsigned] {topic_prefix}registration.events" in text.stdout
    assert forged.false_key in text.stdout
    assert text.stdout.rstrip().endswith("REFUSED: 2 events not signed by their producer.")

    # Without the check, the forgery is replayed: what the refusal keeps out.
    blind = tmp_path / "blind.db"
    done = hackathon(
        "audit", "rebuild", "submissions", "--database", f"sqlite:///{blind}", *broker,
        "--no-signatures",
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "signatures NOT checked" in done.stdout
    assert forged.outsider in members(blind, forged.team_id)

    # Neither keys nor --no-signatures: it does not run, and touches no database.
    untouched = tmp_path / "untouched.db"
    done = hackathon(
        "audit", "rebuild", "submissions", "--database", f"sqlite:///{untouched}", *broker
    )
    assert done.returncode == 2
    assert "give the producers' trusted public keys" in done.stderr
    assert not untouched.exists()

    # verify names the same two events, from the same broker.
    report = verify(forged.log.records(), keys=load_trusted_keys(forged.keys.trusted))
    named = {(f.event.event_id, f.kind) for f in report.findings if f.check == "signature"}
    assert named == refused
    capsys.readouterr()


def test_a_rebuild_from_an_export_checks_the_signatures_kept_in_it(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = forged_log(topic_prefix, tmp_path)
    asyncio.run(publish(kafka_bootstrap, forged.log))
    export = tmp_path / "export.jsonl"
    broker = ["--bootstrap-servers", kafka_bootstrap, "--topic-prefix", topic_prefix]
    assert main(["audit", "export", *broker, "--out", str(export)]) == 0
    capsys.readouterr()

    target = tmp_path / "from-export.db"
    done = hackathon(
        "audit", "rebuild", "submissions", "--database", f"sqlite:///{target}",
        "--from", str(export), "--keys", str(forged.keys.trusted), "--json",
    )  # fmt: skip
    assert done.returncode == 1, (done.stdout, done.stderr)
    refused = {(r["event_id"], r["kind"]) for r in json.loads(done.stdout)["refused"]}
    assert refused == {(forged.unsigned, "unsigned"), (forged.false_key, "bad-signature")}
    assert forged.outsider not in members(target, forged.team_id)

    # Scoped to another hackathon, the forgeries are still left out, only counted.
    scoped = hackathon(
        "audit", "rebuild", "submissions", "--database", f"sqlite:///{tmp_path / 's.db'}",
        "--from", str(export), "--keys", str(forged.keys.trusted), "--hackathon", "hck_other",
        "--json",
    )  # fmt: skip
    assert scoped.returncode == 0, (scoped.stdout, scoped.stderr)
    answer = json.loads(scoped.stdout)
    assert answer["refused"] == [] and answer["refused_out_of_scope"] == 2


def test_a_clean_signed_log_rebuilds_without_refusals(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    keys = ensure_platform_keys(tmp_path / "keys", EVENTS_TOPIC_OF_PRODUCER)
    log = LogBuilder(
        prefix=topic_prefix,
        signers={p: load_signer(keys.signing_key(p), p) for p in EVENTS_TOPIC_OF_PRODUCER},
    )
    judged_hackathon(log)
    asyncio.run(publish(kafka_bootstrap, log))
    done = hackathon(
        "audit", "rebuild", "submissions", "--database", f"sqlite:///{tmp_path / 'r.db'}",
        "--bootstrap-servers", kafka_bootstrap, "--topic-prefix", topic_prefix,
        "--keys", str(keys.trusted),
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "REFUSED" not in done.stdout and "signed by: registration-" in done.stdout
