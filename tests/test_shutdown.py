"""A service stops within 5 s of SIGTERM, the broker up or down: Compose gives 30 s before it
kills, and an orderly stop must not depend on the broker answering. The broker "down" here is
the worst kind: paused (SIGSTOP), so that connections open and nothing ever answers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hackathon_cli.platform import Platform, PlatformConfig
from hackathon_shared.ports import free_port

STOP_BOUND_SECONDS = 5.0  # docs/guarantees.md, "Time bounds"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    running = Platform(
        PlatformConfig(data_dir=tmp_path / "data", gateway_port=free_port(), broker_port=None)
    )
    running.start()
    try:
        yield running
    finally:
        if running.broker is not None and running.broker.pid is not None:
            os.kill(running.broker.pid, signal.SIGCONT)
        running.stop()


def stop_time(process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)  # Compose's grace, after which it would kill
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return float("inf")
    return time.monotonic() - started


def test_every_service_stops_promptly_with_the_broker_up_and_paused(platform: Platform) -> None:
    by_name = {p.name: p for p in platform.processes}
    took = {"registration": stop_time(by_name["registration"].popen)}
    assert platform.broker is not None and platform.broker.pid is not None
    os.kill(platform.broker.pid, signal.SIGSTOP)  # connections open; nothing answers
    for name in ("submissions", "scoring", "notifications"):
        took[name] = stop_time(by_name[name].popen)
    slow = {
        name: round(seconds, 1) for name, seconds in took.items() if seconds > STOP_BOUND_SECONDS
    }
    assert not slow, f"stopped after more than {STOP_BOUND_SECONDS} s: {slow} (all: {took})"
    for name in took:
        # An orderly stop, not a crash: uvicorn ran the shutdown to its end (and, as it does,
        # then ends by the signal it caught).
        process = by_name[name]
        assert process.popen.returncode in (0, -signal.SIGTERM), name
        assert "Application shutdown complete" in process.log_path.read_text(), name
