"""How fast ``hackathon audit verify`` checks a log read from the broker, how its cost grows
with the log, and how much memory it needs, against raw consumption of the same topics.

Workloads, built with ``audit.sample`` (sealed and chained as the services' outboxes write
them, every decision naming its positions) and each produced once, under a topic prefix of
its own, to a fresh embedded broker (Tansu), each record on the partition the builder chose:

- one big hackathon (``civic_hackathon``) at 100x the size of the largest civic hackathons:
  30,000 participants in 3,000 teams of ten, 3,000 submissions, 500 judges, five per
  submission (15,000 assignments and scores), the results, about 124,000 records; 10x is a
  tenth of that and 1x a hundredth (1x has 6 judges, one more than a panel);
- many small hackathons (``judged_hackathon``, 51 records each): 10, 100 and 1,000.

Each figure comes from a child process of its own (a fresh interpreter; imports are not
timed): ``verify`` runs the command line's own entry point (``hackathon audit verify
--bootstrap-servers ... --topic-prefix ... --json``), so it streams the log from the broker
exactly as the command does. The baseline child reads the same topics with a bare aiokafka
consumer in the same loop (every partition from offset 0, until the end offsets are passed and
a fetch comes back empty), once as it comes and once with ``json.loads`` of every value.
Peak RSS is each child's own ``VmHWM``.

Reading ends with an empty fetch that confirms the end of the log (about half a second,
whatever the log's size; see docs/audit.md): the rates count up to the last record read, and
the end-to-end seconds are printed beside them. Growth per 10x is the time's factor next to
the records' factor (linear: about the same).

    .venv/bin/python bench/audit_verify.py [--scales 1,10,100] [--small 10,100,1000]
        [--repeat 2] [--quick]

``--quick`` runs 1x and 10x and 10 and 100 small hackathons only (a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from table import Row, print_rows

BENCH = "audit_verify"
GOAL_RATE = 100_000  # events/s
GOAL_RSS_MIB = 200  # a 124k-record log
LINEAR = 1.25  # time growth at most this much above the records' growth
IDLE_MS = 500  # audit.log.iter_broker's wait for the empty fetch that ends the reading
MAX_REQUEST = 8 * 1024 * 1024  # the 100x results are about a megabyte
FULL = (30_000, 3_000, 500, 5)  # participants, teams, judges, judges per submission


# --------------------------------------------------------------------------------------------
# Children: one measurement each, in a fresh interpreter
# --------------------------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    found = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(found.group(1)) / 1024 if found else float("nan")


def child_verify(bootstrap: str, prefix: str) -> dict[str, Any]:
    """``hackathon audit verify`` from the broker, and how long its final empty fetch took."""
    from hackathon_cli.main import main

    fetches: list[tuple[float, bool]] = []  # (seconds, returned records) of every fetch
    getmany = AIOKafkaConsumer.getmany

    async def timed(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        found = await getmany(self, *args, **kwargs)
        fetches.append((time.perf_counter() - started, bool(found)))
        return found

    AIOKafkaConsumer.getmany = timed
    out = io.StringIO()
    # The sample logs are unsigned (audit.sample): signatures are not checked here, and
    # checking them would add one Ed25519 verification, about 64 us, per event
    # (docs/benchmarks.md, "what signatures cost").
    argv = ["audit", "verify", "--bootstrap-servers", bootstrap, "--topic-prefix", prefix]
    argv.append("--no-signatures")
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--json", "--no-progress"])
    ended, cpu = time.perf_counter(), time.process_time() - cpu
    report = json.loads(out.getvalue())
    tail = 0.0  # the empty fetches after the last record: they only confirm the end
    while fetches and not fetches[-1][1]:
        tail += fetches.pop()[0]
    return {
        "code": code,
        "records": report["records"],
        "clean": report["clean"],
        "findings": len(report["findings"]),
        "seconds": ended - started,
        "work": ended - started - tail,
        "cpu": cpu,
        "rss": _peak_rss_mib(),
    }


async def _consume(bootstrap: str, prefix: str, parse: bool) -> tuple[int, float, float]:
    """Records read, seconds without the final empty fetches and in all:
    ``audit.log.iter_broker``'s loop with nothing done but (optionally) ``json.loads`` of
    each value."""
    from audit.log import event_topic_names

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    started = time.perf_counter()
    await consumer.start()
    tail = 0.0  # the empty fetches after the last record
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(name, n)
            for name in event_topic_names(prefix)
            for n in sorted(consumer.partitions_for_topic(name) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        count, reached = 0, False
        while True:
            fetched = time.perf_counter()
            batches = await consumer.getmany(timeout_ms=IDLE_MS, max_records=5000)
            tail = 0.0 if batches else tail + time.perf_counter() - fetched
            for batch in batches.values():
                count += len(batch)
                if parse:
                    for message in batch:
                        if message.value is not None:
                            json.loads(message.value)
            if not reached:
                positions = [await consumer.position(p) for p in partitions]
                reached = all(at >= ends[p] for at, p in zip(positions, partitions, strict=True))
            elif not batches:
                break
    finally:
        await consumer.stop()
    seconds = time.perf_counter() - started
    return count, seconds - tail, seconds


def child_baseline(bootstrap: str, prefix: str) -> dict[str, Any]:
    raw = asyncio.run(_consume(bootstrap, prefix, parse=False))
    parsed = asyncio.run(_consume(bootstrap, prefix, parse=True))
    return {
        "records": parsed[0],
        "raw_work": raw[1],
        "work": parsed[1],
        "seconds": parsed[2],
        "rss": _peak_rss_mib(),
    }


def run_child(kind: str, bootstrap: str, prefix: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--bootstrap", bootstrap, "--prefix", prefix],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} child failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------


@dataclass
class Workload:
    name: str  # "100x", "1000 small"
    series: str  # "big" or "small"
    size: int  # the scale or the number of hackathons
    prefix: str
    records: int = 0
    built: float = 0.0
    produced: float = 0.0


def build(workload: Workload) -> list[Any]:
    from audit.sample import LogBuilder, civic_hackathon, judged_hackathon

    log = LogBuilder(prefix=workload.prefix)
    if workload.series == "big":
        participants, teams, judges, panel = FULL
        share = workload.size / 100
        civic_hackathon(
            log,
            participants=round(participants * share),
            teams=round(teams * share),
            judges=max(round(judges * share), panel + 1),
            judges_per_submission=panel,
        )
    else:
        first = judged_hackathon(log)
        for _ in range(workload.size - 1):
            judged_hackathon(log, organizer=first.organizer)
    return log.records()


async def produce(bootstrap: str, prefix: str, records: Sequence[Any]) -> None:
    from audit.log import event_topic_names
    from hackathon_shared.kafka_admin import ensure_topics

    await ensure_topics(bootstrap, event_topic_names(prefix), partitions=3)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=5,
        max_batch_size=512 * 1024,
        max_request_size=MAX_REQUEST,
        enable_idempotence=False,
    )
    await producer.start()
    try:
        pending: list[asyncio.Future[Any]] = []
        for record in records:  # each partition's records in offset order
            pending.append(
                await producer.send(
                    record.topic, record.value, key=record.key, partition=record.partition
                )
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


@dataclass
class Measured:
    workload: Workload
    verify: dict[str, Any]
    baseline: dict[str, Any]

    @property
    def rate(self) -> float:
        return float(self.verify["records"]) / self.verify["work"]

    @property
    def baseline_rate(self) -> float:
        return float(self.baseline["records"]) / self.baseline["work"]


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda run: float(run["work"]))


def rows_for(measured: list[Measured]) -> list[Row]:
    rows: list[Row] = []
    for m in measured:
        w, v = m.workload, m.verify
        what = f"{w.name} ({w.records:,} records)"
        rows.append(
            Row(
                BENCH,
                f"verify, {what}; {v['seconds']:.2f} s end to end",
                m.rate,
                "events/s",
                baseline=m.baseline_rate,
                baseline_name="raw consume + json.loads",
                goal=f">= {GOAL_RATE:,} events/s",
                met=m.rate >= GOAL_RATE,
            )
        )
        limit = GOAL_RSS_MIB * max(1.0, w.records / 124_000)
        rows.append(
            Row(
                BENCH,
                f"verify peak RSS, {what}",
                float(v["rss"]),
                "MiB",
                baseline=float(m.baseline["rss"]),
                baseline_name="raw consume",
                goal=f"< {limit:.0f} MiB",
                met=float(v["rss"]) < limit,
            )
        )
    for series in ("big", "small"):
        runs = [m for m in measured if m.workload.series == series]
        for smaller, larger in itertools.pairwise(runs):
            grown = larger.workload.records / smaller.workload.records
            factor = larger.verify["work"] / smaller.verify["work"]
            base = larger.baseline["work"] / smaller.baseline["work"]
            rows.append(
                Row(
                    BENCH,
                    f"verify time growth, {smaller.workload.name} -> {larger.workload.name} "
                    f"(records x{grown:.1f})",
                    factor,
                    "x",
                    baseline=base,
                    baseline_name="raw consume + json.loads",
                    goal=f"linear: <= {LINEAR} x {grown:.1f}",
                    met=factor <= LINEAR * grown,
                )
            )
    if measured:
        top = max(measured, key=lambda m: m.workload.records)
        raw = top.baseline["records"] / top.baseline["raw_work"]
        rows.append(
            Row(
                BENCH,
                f"raw aiokafka consume (no parsing), {top.workload.name}",
                raw,
                "records/s",
                baseline=top.baseline_rate,
                baseline_name="with json.loads",
                goal="baseline only",
                met=None,
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scales", default="1,10,100", help="sizes of the big hackathon")
    parser.add_argument("--small", default="10,100,1000", help="how many small hackathons")
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure (the best)")
    parser.add_argument("--quick", action="store_true", help="1x, 10x; 10, 100 small")
    args = parser.parse_args()
    if args.quick:
        args.scales, args.small = "1,10", "10,100"
    began = time.perf_counter()
    from hackathon_cli.embedded_broker import EmbeddedBroker

    workloads = [
        Workload(f"{n}x", "big", n, f"bench-audit-{n}x.") for n in _numbers(args.scales)
    ] + [
        Workload(f"{n} small hackathons", "small", n, f"bench-audit-{n}small.")
        for n in _numbers(args.small)
    ]
    big = ", ".join(w.name for w in workloads if w.series == "big")
    small = ", ".join(str(w.size) for w in workloads if w.series == "small")
    capped = " (--quick: capped below the full sizes)" if args.quick else ""
    print(f"sizes: one big hackathon at {big}; small hackathons: {small}{capped}", flush=True)
    with EmbeddedBroker() as broker:
        bootstrap = broker.bootstrap_servers
        for workload in workloads:
            started = time.perf_counter()
            records = build(workload)
            workload.records, workload.built = len(records), time.perf_counter() - started
            started = time.perf_counter()
            await produce(bootstrap, workload.prefix, records)
            workload.produced = time.perf_counter() - started
            del records
            print(
                f"{workload.name}: {workload.records:,} records, built in {workload.built:.1f} s, "
                f"produced in {workload.produced:.1f} s",
                flush=True,
            )
        measured: list[Measured] = []
        for workload in workloads:
            baseline = _best(
                [run_child("baseline", bootstrap, workload.prefix) for _ in range(args.repeat)]
            )
            verified = _best(
                [run_child("verify", bootstrap, workload.prefix) for _ in range(args.repeat)]
            )
            if verified["records"] != workload.records or baseline["records"] != workload.records:
                raise RuntimeError(f"{workload.name}: not every record was read")
            if verified["code"] != 0 or not verified["clean"]:
                raise RuntimeError(
                    f"{workload.name}: {verified['findings']} findings on a clean log"
                )
            measured.append(Measured(workload, verified, baseline))
            print(
                f"  {workload.name:>20}: verify {verified['work']:6.2f} s to the last record "
                f"({verified['seconds']:.2f} s end to end, {verified['cpu']:.2f} s CPU), "
                f"{verified['rss']:.0f} MiB; raw consume + json.loads {baseline['work']:.2f} s, "
                f"{baseline['rss']:.0f} MiB",
                flush=True,
            )
    print()
    print_rows(rows_for(measured))
    print(f"\nwhole bench: {time.perf_counter() - began:.0f} s")


def _numbers(text: str) -> list[int]:
    return sorted(int(part) for part in text.split(",") if part.strip())


def _child() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("verify", "baseline"), required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args()
    run = child_verify if args.child == "verify" else child_baseline
    print(json.dumps(run(args.bootstrap, args.prefix)))


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        asyncio.run(main())
