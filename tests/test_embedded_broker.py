"""The embedded broker and the admin helpers, against a real broker (no mocks)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hackathon_cli.embedded_broker import EmbeddedBroker, EmbeddedBrokerError
from hackathon_shared.kafka_admin import (
    FAST_CONSUMER_SETTINGS,
    ConsumerTimings,
    consumer_timings_for,
    ensure_topics,
    topic_partition_counts,
    wait_for_broker,
)
from hackathon_shared.ports import free_port, free_ports, port_is_free
from tests.polling import wait_until


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    """A socket listening on a free local port, standing in for some other server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_starts_on_a_free_port_and_answers_metadata() -> None:
    broker = EmbeddedBroker()
    await asyncio.to_thread(broker.start)
    try:
        assert broker.running
        assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"
        await wait_for_broker(broker.bootstrap_servers, timeout=5)

        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            cluster = await admin.describe_cluster()
        finally:
            await admin.close()
        advertised = {(b["host"], b["port"]) for b in cluster["brokers"]}
        assert advertised == {("127.0.0.1", broker.port)}
    finally:
        await asyncio.to_thread(broker.stop)


async def test_embedded_broker_is_recognised_for_fast_consumer_timings() -> None:
    with EmbeddedBroker() as broker:
        assert await consumer_timings_for(broker.bootstrap_servers) == FAST_CONSUMER_SETTINGS


async def test_ensure_topics_creates_requested_partitions_and_is_idempotent(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    first = [f"{topic_prefix}alpha", f"{topic_prefix}beta"]

    created = await ensure_topics(kafka_bootstrap, first, partitions=3)

    assert created == {first[0]: 3, first[1]: 3}
    assert await topic_partition_counts(kafka_bootstrap, first) == created

    # Again, with one new topic and a different partition count: existing topics are kept
    # unchanged, the new one is created, nothing fails.
    second = [*first, f"{topic_prefix}gamma"]
    again = await ensure_topics(kafka_bootstrap, second, partitions=2)

    assert again == {first[0]: 3, first[1]: 3, second[2]: 2}
    assert await topic_partition_counts(kafka_bootstrap, second) == again


async def test_concurrent_ensure_topics_calls_all_succeed(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topics = [f"{topic_prefix}shared"]

    results = await asyncio.gather(*(ensure_topics(kafka_bootstrap, topics) for _ in range(4)))

    assert all(result == {topics[0]: 3} for result in results)


async def test_keyed_messages_round_trip_through_a_committing_consumer_group(
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    kafka_consumer_settings: ConsumerTimings,
) -> None:
    topic = f"{topic_prefix}orders"
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    sent = {b"team-1": b"registered", b"team-2": b"submitted", b"team-3": b"scored"}

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        placed = {
            key: await producer.send_and_wait(topic, value, key=key) for key, value in sent.items()
        }
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **kafka_consumer_settings,
    )
    received: list[ConsumerRecord[bytes, bytes]] = []

    async def all_three_arrived() -> bool:
        batches = await consumer.getmany(timeout_ms=100)
        for records in batches.values():
            received.extend(records)
        return len(received) >= len(sent)

    await consumer.start()
    try:
        await wait_until(all_three_arrived, timeout=30, message="three records consumed")
        await consumer.commit()
        committed = {
            tp: await consumer.committed(tp) for tp in (TopicPartition(topic, p) for p in range(3))
        }
    finally:
        await consumer.stop()

    assert {r.key: r.value for r in received} == sent
    for record in received:
        assert record.key is not None
        meta = placed[record.key]
        assert (record.partition, record.offset) == (meta.partition, meta.offset)
    for tp, offset in committed.items():
        in_partition = [m.offset for m in placed.values() if m.partition == tp.partition]
        if in_partition:
            assert offset == max(in_partition) + 1
        else:
            assert offset in (None, 0)  # nothing consumed there

    # A new member of the same group resumes after the committed offsets: it sees only a
    # message produced afterwards.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"notified", key=b"team-4")
    finally:
        await producer.stop()
    successor = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **kafka_consumer_settings,
    )
    later: list[ConsumerRecord[bytes, bytes]] = []

    async def the_fourth_arrived() -> bool:
        batches = await successor.getmany(timeout_ms=100)
        for records in batches.values():
            later.extend(records)
        return bool(later)

    await successor.start()
    try:
        await wait_until(the_fourth_arrived, timeout=30, message="the later record consumed")
        # Drain briefly: anything already committed must not come back.
        extra = await successor.getmany(timeout_ms=300)
        later.extend(r for records in extra.values() for r in records)
    finally:
        await successor.stop()
    assert [(r.key, r.value) for r in later] == [(b"team-4", b"notified")]


def test_stop_ends_the_process_and_frees_the_port() -> None:
    broker = EmbeddedBroker().start()
    pid, port = broker.pid, broker.port
    assert pid is not None
    assert not port_is_free(port)

    broker.stop()

    assert not broker.running
    assert _process_gone(pid)
    assert port_is_free(port)
    broker.stop()  # idempotent

    # The port can be used again at once, by a new broker.
    with EmbeddedBroker(port=port) as again:
        assert again.bootstrap_servers == f"127.0.0.1:{port}"
    assert port_is_free(port)


def test_context_manager_stops_the_broker_and_removes_its_temporary_log() -> None:
    with EmbeddedBroker() as broker:
        pid = broker.pid
        log_path = broker.log_path
        assert log_path is not None and log_path.exists()
    assert pid is not None and _process_gone(pid)
    assert not log_path.exists()


def test_a_given_log_path_is_kept(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "broker.log"
    with EmbeddedBroker(log_path=log_file) as broker:
        port = broker.port
    assert f"127.0.0.1:{port}" in log_file.read_text(encoding="utf-8")


def test_starting_on_a_taken_port_fails_clearly(listening_socket: socket.socket) -> None:
    port = listening_socket.getsockname()[1]
    broker = EmbeddedBroker(port=port)

    with pytest.raises(EmbeddedBrokerError, match=rf"127\.0\.0\.1:{port}.*already in use"):
        broker.start()

    assert broker.pid is None
    assert not broker.running


def test_a_binary_that_exits_reports_its_output(tmp_path: Path) -> None:
    # The Python interpreter, given "broker" as a script name, exits at once with an error.
    log_file = tmp_path / "broker.log"
    broker = EmbeddedBroker(binary=sys.executable, log_path=log_file, startup_timeout=10)

    with pytest.raises(EmbeddedBrokerError, match=r"exited with code 2(.|\n)*broker"):
        broker.start()

    assert not broker.running


def test_free_port_gives_a_bindable_port() -> None:
    port = free_port()
    assert 0 < port < 65536
    assert port_is_free(port)


def test_free_ports_are_distinct_bindable_and_avoid_what_is_promised() -> None:
    promised = free_port()
    ports = free_ports(20, avoid={promised})
    assert len(set(ports)) == 20
    assert promised not in ports
    for port in ports:
        assert port_is_free(port)
