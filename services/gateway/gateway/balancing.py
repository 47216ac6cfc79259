"""Spreading the gateway's requests over a service's replicas.

With ``docker compose up --scale scoring=3`` the name ``scoring`` resolves (Docker's DNS) to
one address per replica. An HTTP client that simply connects to the name keeps reusing its
pooled connection to one replica, and the C library's ``getaddrinfo`` sorts a name's
addresses (RFC 6724 rule 9, applied by glibc to addresses on the same subnet, as a compose
network is), so that new connections go to the same replica too. The transport here resolves
the name itself (again every ``resolve_seconds``), sends each request to one of its addresses
picked at random, and keeps pooled connections per address. A request that cannot connect to
an address (a replica that has gone) is tried on the others; nothing was sent, so that is safe
for every method.

``static_hosts`` maps a host name to fixed ``address:port`` pairs instead of resolving it, for
deployments without DNS-based discovery (and the parity test, which runs replicas on one
machine)."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import time
from collections.abc import Mapping, Sequence

import httpx

Target = tuple[str, int]  # (address, port)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _parse_target(text: str) -> Target:
    address, _, port = text.strip().rpartition(":")
    if not address or not port.isdigit():
        raise ValueError(f"expected address:port, got {text!r}")
    return address.strip("[]"), int(port)


class SpreadingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        resolve_seconds: float = 5.0,
        static_hosts: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.inner = inner
        self.resolve_seconds = resolve_seconds
        self.static_hosts = {
            host: [_parse_target(t) for t in targets]
            for host, targets in (static_hosts or {}).items()
        }
        self._resolved: dict[Target, tuple[float, list[Target]]] = {}

    async def targets(self, host: str, port: int) -> list[Target]:
        """Where ``host:port`` may be reached: one entry per replica."""
        if host in self.static_hosts:
            return self.static_hosts[host]
        if _is_address(host):
            return [(host, port)]
        cached = self._resolved.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found = sorted({(str(info[4][0]), port) for info in infos})
        self._resolved[(host, port)] = (time.monotonic() + self.resolve_seconds, found)
        return found

    def forget(self, host: str, port: int) -> None:
        self._resolved.pop((host, port), None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host, port = request.url.host, request.url.port or 80
        try:
            targets = await self.targets(host, port)
        except OSError as error:
            raise httpx.ConnectError(f"cannot resolve {host}: {error}", request=request) from error
        if not targets:
            raise httpx.ConnectError(f"{host} resolves to no address", request=request)
        order = random.sample(targets, len(targets))
        original = request.url  # the Host header keeps the service's name
        for attempt, (address, target_port) in enumerate(order):
            request.url = original.copy_with(host=address, port=target_port)
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.ConnectError:
                self.forget(host, port)
                if attempt == len(order) - 1:
                    raise
                continue
            finally:
                request.url = original
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self.inner.aclose()


def spreading_client(
    *,
    timeout: float,
    resolve_seconds: float = 5.0,
    static_hosts: Mapping[str, Sequence[str]] | None = None,
    max_keepalive_connections: int = 20,
    keepalive_expiry_seconds: float = 5.0,
) -> httpx.AsyncClient:
    inner = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry_seconds,
        )
    )
    transport = SpreadingTransport(
        inner, resolve_seconds=resolve_seconds, static_hosts=static_hosts
    )
    return httpx.AsyncClient(timeout=timeout, transport=transport)
