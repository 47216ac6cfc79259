"""The gateway's spreading of requests over a service's replicas (gateway.balancing)."""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter

import httpx
import pytest

from gateway.balancing import SpreadingTransport


def recording(dead: set[str] | None = None) -> tuple[httpx.MockTransport, Counter[str], list[str]]:
    """A stand-in for the network: answers 200 from any address except the ``dead`` ones."""
    hits: Counter[str] = Counter()
    hosts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        target = f"{request.url.host}:{request.url.port}"
        if target in (dead or set()):
            raise httpx.ConnectError("connection refused", request=request)
        hits[target] += 1
        hosts.append(request.headers["host"])
        return httpx.Response(200, json={"served_by": target})

    return httpx.MockTransport(answer), hits, hosts


async def test_a_name_is_resolved_and_requests_go_to_its_address_with_the_name_as_host() -> None:
    inner, hits, hosts = recording()
    async with httpx.AsyncClient(transport=SpreadingTransport(inner)) as client:
        answer = await client.get("http://localhost:8000/readyz")
    assert answer.status_code == 200
    # localhost may resolve to ::1 as well as 127.0.0.1; the request goes to one of them.
    [(target, count)] = hits.items()
    address, _, port = target.rpartition(":")
    resolved = {
        info[4][0] for info in socket.getaddrinfo("localhost", 8000, type=socket.SOCK_STREAM)
    }
    assert count == 1 and port == "8000"
    assert address in resolved and ipaddress.ip_address(address).is_loopback, (target, resolved)
    assert hosts == ["localhost:8000"]
    assert str(answer.request.url) == "http://localhost:8000/readyz"


async def test_requests_spread_over_every_replica() -> None:
    inner, hits, _ = recording()
    replicas = ["10.0.0.2:8000", "10.0.0.3:8000", "10.0.0.4:8000"]
    transport = SpreadingTransport(inner, static_hosts={"scoring": replicas})
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(300):
            assert (await client.get("http://scoring:8000/x")).status_code == 200
    assert set(hits) == set(replicas)
    assert min(hits.values()) > 50  # about 100 each


async def test_a_replica_that_is_gone_is_skipped() -> None:
    inner, hits, _ = recording(dead={"10.0.0.3:8000"})
    transport = SpreadingTransport(
        inner, static_hosts={"scoring": ["10.0.0.2:8000", "10.0.0.3:8000"]}
    )
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(20):
            assert (await client.post("http://scoring:8000/x", json={})).status_code == 200
    assert hits == {"10.0.0.2:8000": 20}


async def test_a_name_that_does_not_resolve_is_a_connection_error() -> None:
    inner, _, _ = recording()
    async with httpx.AsyncClient(transport=SpreadingTransport(inner)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://no-such-service.invalid:8000/x")
