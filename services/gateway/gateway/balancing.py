"""Spreading the gateway's requests over a service's replicas.

With ``docker compose up --scale scoring=3`` the name ``scoring`` resolves (Docker's DNS) to
one address per replica. An HTTP client that simply connects to the name keeps reusing its
pooled connection to one replica, and the C library's ``getaddrinfo`` sorts a name's
addresses (RFC 6724 rule 9, applied by glibc to addresses on the same subnet, as a compose
network is), so that new connections go to the same replica too. :class:`Replicas` resolves
the name itself (again every ``resolve_seconds``); each request goes to one of its addresses
picked at random, with pooled connections per address. A request that cannot connect to
an address (a replica that has gone) is tried on the others; nothing was sent, so that is safe
for every method (``gateway.upstream``).

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


class Replicas:
    """Where a service's name may be reached: one ``(address, port)`` per replica, resolved
    again every ``resolve_seconds``, or fixed by ``static_hosts``."""

    def __init__(
        self,
        *,
        resolve_seconds: float = 5.0,
        static_hosts: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.resolve_seconds = resolve_seconds
        self.static_hosts = {
            host: [_parse_target(t) for t in targets]
            for host, targets in (static_hosts or {}).items()
        }
        self._resolved: dict[Target, tuple[float, list[Target]]] = {}

    async def targets(self, host: str, port: int) -> list[Target]:
        """Where ``host:port`` may be reached: one entry per replica (``OSError`` when the
        name does not resolve)."""
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

    async def in_random_order(self, host: str, port: int) -> list[Target]:
        """The replicas to try for one request: a random one first, then the others."""
        targets = await self.targets(host, port)
        if not targets:
            raise OSError(f"{host} resolves to no address")
        return random.sample(targets, len(targets))

    def forget(self, host: str, port: int) -> None:
        """Resolve the name again next time (an address could not be reached)."""
        self._resolved.pop((host, port), None)
