"""The gateway's spreading of requests over a service's replicas (gateway.balancing, through
gateway.upstream), against real HTTP servers on loopback addresses (127.0.0.0/8)."""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from gateway.balancing import Replicas
from gateway.upstream import UpstreamClient, UpstreamUnavailable


@asynccontextmanager
async def replicas(*addresses: str) -> AsyncIterator[tuple[list[str], Counter[str], list[str]]]:
    """An HTTP server on each address (a free port each): the ``address:port`` they listen
    on, how many requests each served, and the Host header of every request."""
    hits: Counter[str] = Counter()
    hosts: list[str] = []
    runners: list[web.AppRunner] = []
    targets: list[str] = []
    for address in addresses:

        async def answer(request: web.Request, served_by: str = address) -> web.Response:
            port = request.transport.get_extra_info("sockname")[1] if request.transport else 0
            hits[f"{served_by}:{port}"] += 1
            hosts.append(request.headers["Host"])
            await request.read()
            return web.json_response({"served_by": served_by})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, address, 0)
        await site.start()
        port = runner.addresses[0][1]
        targets.append(f"{address}:{port}")
        runners.append(runner)
    try:
        yield targets, hits, hosts
    finally:
        for runner in runners:
            await runner.cleanup()


def closed_port(address: str) -> int:
    """A port on ``address`` that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
    return port


async def send(client: UpstreamClient, method: str, url: str) -> int:
    base, _, path = url.partition("/x")
    answer = await client.send(method, base, "/x" + path, headers={}, body=b"{}")
    await client.read(answer)
    return answer.status


async def test_a_name_is_resolved_and_requests_go_to_its_address_with_the_name_as_host() -> None:
    async with replicas("127.0.0.1") as ([target], hits, hosts):
        port = int(target.rsplit(":", 1)[1])
        client = UpstreamClient(Replicas(), timeout=5)
        try:
            assert await send(client, "GET", f"http://localhost:{port}/x") == 200
        finally:
            await client.close()
    resolved = {
        info[4][0] for info in socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
    }
    assert "127.0.0.1" in resolved and all(ipaddress.ip_address(a).is_loopback for a in resolved)
    assert hits == {target: 1}
    assert hosts == [f"localhost:{port}"]


async def test_requests_spread_over_every_replica() -> None:
    async with replicas("127.0.0.2", "127.0.0.3", "127.0.0.4") as (targets, hits, hosts):
        client = UpstreamClient(Replicas(static_hosts={"scoring": targets}), timeout=5)
        try:
            for _ in range(300):
                assert await send(client, "GET", "http://scoring:8000/x") == 200
        finally:
            await client.close()
    assert set(hits) == set(targets)
    assert min(hits.values()) > 50  # about 100 each
    assert set(hosts) == {"scoring:8000"}


async def test_a_replica_that_is_gone_is_skipped() -> None:
    async with replicas("127.0.0.2") as ([alive], hits, _):
        gone = f"127.0.0.3:{closed_port('127.0.0.3')}"
        client = UpstreamClient(Replicas(static_hosts={"scoring": [alive, gone]}), timeout=5)
        try:
            for _ in range(20):
                assert await send(client, "POST", "http://scoring:8000/x") == 200
        finally:
            await client.close()
    assert hits == {alive: 20}


async def test_no_replica_reachable_and_a_name_that_does_not_resolve_are_unavailable() -> None:
    gone = f"127.0.0.3:{closed_port('127.0.0.3')}"
    client = UpstreamClient(Replicas(static_hosts={"scoring": [gone]}), timeout=5)
    try:
        with pytest.raises(UpstreamUnavailable):
            await send(client, "GET", "http://scoring:8000/x")
        with pytest.raises(UpstreamUnavailable):
            await send(client, "GET", "http://no-such-service.invalid:8000/x")
    finally:
        await client.close()
