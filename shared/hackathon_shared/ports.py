"""Small helpers for picking and checking local TCP ports."""

from __future__ import annotations

import errno
import socket
from collections.abc import Collection

__all__ = ["free_port", "free_ports", "port_is_free"]


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that nothing listens on right now.

    The operating system picks the port; the probe socket is closed before returning, so a
    caller must still cope with the (small) chance that someone else takes it first.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def free_ports(count: int, host: str = "127.0.0.1", avoid: Collection[int] = ()) -> list[int]:
    """Return ``count`` distinct TCP ports on ``host`` that nothing listens on right now, none
    of them in ``avoid`` (ports promised to a server that has not bound yet).

    Calling :func:`free_port` once per server that binds later may hand out one port twice:
    the probes here stay bound until all the ports are picked, so they differ.
    """
    probes: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probes.append(probe)
            probe.bind((host, 0))
            port: int = probe.getsockname()[1]
            if port not in avoid:
                ports.append(port)
        return ports
    finally:
        for probe in probes:
            probe.close()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether a server could bind ``host:port`` now.

    ``SO_REUSEADDR`` is set the way servers set it, so sockets lingering in ``TIME_WAIT`` after
    a previous server stopped do not count as taken; a socket that is listening does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
        return True
