"""How a consumer's fetch hold (``fetch_max_wait_ms``) trades arrival latency against idle
cost on the embedded broker (Tansu), the figure behind ``CONSUMER_FETCH_MAX_WAIT_MS``'s
default there.

For each hold, a consumer at the end of a topic waits while a producer sends one record at a
random moment; the time from the send until the consumer has it is the arrival latency. The
idle cost is the CPU the consumer process and the broker use over a few seconds with nothing
to fetch. Baseline in the same run: the producer's own acknowledged send (raw aiokafka
produce), below which no arrival can go.

    .venv/bin/python bench/fetch_wait.py [--rounds 20] [--holds 10,50,200,300,500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from table import Row, print_rows

from hackathon_cli.embedded_broker import EmbeddedBroker

BENCH = "fetch hold"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IDLE_SECONDS = 3.0


def broker_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(
    servers: str, broker_pid: int, hold_ms: int, rounds: int
) -> tuple[list[float], list[float], float]:
    """Arrival latencies (ms), acknowledged-send latencies (ms), idle CPU (% of one core)."""
    topic = f"fetch-hold-{hold_ms}-{random.getrandbits(32):x}"
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    await producer.send_and_wait(topic, b"first")
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, fetch_max_wait_ms=hold_ms, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=3000)
        # Idle: the consumer fetching with nothing to fetch.
        before = own_cpu() + broker_cpu(broker_pid)
        started = time.monotonic()
        while time.monotonic() - started < IDLE_SECONDS:
            await consumer.getmany(timeout_ms=100)
        idle = (own_cpu() + broker_cpu(broker_pid) - before) / IDLE_SECONDS * 100
        arrivals, sends = [], []
        for _ in range(rounds):
            await asyncio.sleep(random.uniform(0.05, 0.25))
            sent = time.perf_counter()
            waiting = asyncio.create_task(consumer.getmany(timeout_ms=5000))
            await producer.send_and_wait(topic, b"x")
            sends.append((time.perf_counter() - sent) * 1000)
            got = await waiting
            while not got:
                got = await consumer.getmany(timeout_ms=5000)
            arrivals.append((time.perf_counter() - sent) * 1000)
        return arrivals, sends, idle
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--holds", default="10,50,200,300,500")
    args = parser.parse_args()
    holds = [int(h) for h in args.holds.split(",")]
    broker = EmbeddedBroker(port=None)
    broker.start()
    rows: list[Row] = []
    try:
        process = broker._process  # the Tansu process, for its CPU time
        assert process is not None
        pid = process.pid
        for hold in holds:
            arrivals, sends, idle = asyncio.run(
                measure(broker.bootstrap_servers, pid, hold, args.rounds)
            )
            median, worst = statistics.median(arrivals), max(arrivals)
            send = statistics.median(sends)
            print(
                f"hold {hold:>4} ms: arrival median {median:6.1f} ms, max {worst:6.1f} ms; "
                f"acknowledged send median {send:5.1f} ms; idle consumer + broker "
                f"{idle:5.1f} % of one core",
                flush=True,
            )
            label = "acknowledged send"
            rows.append(Row(BENCH, f"arrival median, hold {hold} ms", median, "ms", send, label))
            rows.append(Row(BENCH, f"arrival max, hold {hold} ms", worst, "ms", max(sends), label))
            rows.append(Row(BENCH, f"idle CPU of one consumer, hold {hold} ms", idle, "%"))
    finally:
        broker.stop()
    print()
    print_rows(rows)


if __name__ == "__main__":
    main()
