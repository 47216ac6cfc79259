"""The gateway's HTTP client towards the services (aiohttp).

aiohttp, not httpx: measured on this path (bench/gateway_http.py, docs/benchmarks.md) httpx
cost about four times the CPU per forwarded request, in its pool's per-request connection
checks and its pure-Python HTTP parsing; aiohttp parses with C and keeps its pool cheaply.

Each request goes to one replica of the service (:class:`gateway.balancing.Replicas`), picked
at random, with the service's name kept as the Host header; one that cannot be connected to
is tried on the next replica (nothing was sent, so that is safe for every method). Cookies are
never kept: the gateway speaks for many callers."""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp
from yarl import URL

from gateway.balancing import Replicas


class UpstreamUnavailable(Exception):
    """No replica of the service could be reached, or the connection failed mid-way."""


class UpstreamTimeout(Exception):
    """The service did not answer in time."""


class UpstreamClient:
    def __init__(
        self,
        replicas: Replicas,
        *,
        timeout: float,
        connections_per_replica: int = 20,
        keepalive_seconds: float = 5.0,
    ) -> None:
        self.replicas = replicas
        self.timeout = timeout
        self._connections_per_replica = connections_per_replica
        self._keepalive_seconds = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None

    def _opened(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running event loop (aiohttp binds it there).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=0,
                    limit_per_host=self._connections_per_replica,
                    keepalive_timeout=self._keepalive_seconds,
                ),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
            # aiohttp sends a PUT or DELETE again, once, when a kept-alive connection drops
            # before the answer: HTTP calls those methods idempotent, but here a PUT makes a
            # new submission version or score revision, and the first attempt may have been
            # carried out. ``send`` decides instead: again only what is safe to send again.
            # (No public switch exists; the attribute is aiohttp's own.)
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    async def send(
        self,
        method: str,
        base_url: str,
        path: str,
        *,
        query_string: str = "",
        headers: dict[str, str],
        body: bytes | None = None,
        stream: bool = False,
        timeout: float | None = None,
    ) -> aiohttp.ClientResponse:
        """The service's answer (its body not yet read: the caller reads or streams it, then
        releases it). The whole exchange is bounded by ``timeout`` (the client's by default);
        a ``stream`` only its connection, so that it may last."""
        url = URL(base_url + path, encoded=True)
        if query_string:
            url = url.with_query(query_string)
        host, port = url.host or "", url.port or 80
        bound = self.timeout if timeout is None else timeout
        limits = (
            aiohttp.ClientTimeout(total=None, sock_connect=bound, sock_read=None)
            if stream
            else aiohttp.ClientTimeout(total=bound)
        )
        try:
            order = await self.replicas.in_random_order(host, port)
        except OSError as error:
            raise UpstreamUnavailable(f"cannot resolve {host}: {error}") from error
        sent_headers = {**headers, "Host": url.raw_authority}
        session = self._opened()
        # A connection that drops before the answer may have carried the request to the
        # service: it is sent again only when that is harmless (a read, or a write with an
        # Idempotency-Key, which the service carries out once), and at most once.
        resend = method in SAFE_METHODS or any(k.lower() == "idempotency-key" for k in headers)
        attempts = [*order, *order[:1]] if resend else list(order)
        for attempt, (address, target_port) in enumerate(attempts):
            target = url.with_host(address).with_port(target_port)
            try:
                return await session.request(
                    method,
                    target,
                    headers=sent_headers,
                    data=body,
                    timeout=limits,
                    allow_redirects=False,
                )
            except aiohttp.ClientConnectorError as error:  # never reached the service
                self.replicas.forget(host, port)
                if attempt == len(attempts) - 1:
                    raise UpstreamUnavailable(str(error)) from error
            except (TimeoutError, aiohttp.ServerTimeoutError) as error:
                raise UpstreamTimeout(str(error)) from error
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
                if not resend or attempt == len(attempts) - 1:
                    raise UpstreamUnavailable(str(error)) from error
                resend = False
                attempts = attempts[: attempt + 2]  # one more try, then no more
            except aiohttp.ClientError as error:
                raise UpstreamUnavailable(str(error)) from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def read(self, answer: aiohttp.ClientResponse) -> bytes:
        """The whole body of an answer, then the connection back to the pool."""
        try:
            return await answer.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as error:
            raise UpstreamTimeout(str(error)) from error
        except aiohttp.ClientError as error:
            raise UpstreamUnavailable(str(error)) from error
        finally:
            answer.release()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def chosen_headers(answer: aiohttp.ClientResponse, wanted: Iterable[str]) -> dict[str, str]:
    names = {name.lower() for name in wanted}
    return {k: v for k, v in answer.headers.items() if k.lower() in names}
