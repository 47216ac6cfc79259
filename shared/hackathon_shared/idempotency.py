"""Idempotent writes: the ``Idempotency-Key`` request header (IETF httpapi draft,
"The Idempotency-Key HTTP Header Field").

A client that sends a write (POST, PUT, PATCH, DELETE) with a key may send it again, after a
timeout or a lost connection, with the same key: the service carries it out once. The retry
gets the first answer again (status, body and the headers that describe it, plus
``Idempotent-Replayed: true``) and changes nothing. The same key with another request (another
method, path or body) answers ``422 idempotency-key-reused``; a retry that arrives while the
first is still being carried out answers ``409 idempotency-key-in-use``, with ``Retry-After``.
Keys belong to the caller: the account of a valid bearer token, else the anonymous caller.
They are kept ``KEEP_SECONDS`` (24 hours), then forgotten.

How once is guaranteed, crashes included:
- the key is claimed (``started``, with a claim token of this run) before the request runs;
- the request's first unit of work marks it ``committed`` in its own transaction (a hook of
  :meth:`hackathon_shared.db.Database.transaction`), and only while the claim is still its
  own, so the mark and the write commit together or not at all;
- the answer is stored once it is known (``answered``).
A ``started`` key older than ``STALE_SECONDS`` belongs to a request that died before
committing anything: a retry takes it over and runs. A ``committed`` key with no answer
belongs to one that died between committing and answering: its write stands, and the retry
is told so (``409 idempotency-key-answer-lost``) rather than run twice. Answers that decided
nothing are not kept (a ``5xx`` before the commit, a ``401`` or ``429``): the key is
released, and a retry runs."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hackathon_shared.auth import verify_token
from hackathon_shared.db import (
    Database,
    clear_before_commit,
    reset_before_commit,
    set_before_commit,
)
from hackathon_shared.messaging_tables import IdempotencyRecord
from hackathon_shared.problems import ProblemError, invalid_field

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEEP_SECONDS = 24 * 3600
"""How long a key and its answer are kept: a client retries within minutes, not days."""
STALE_SECONDS = 20.0
"""A key claimed this long ago by a request that never committed is taken over by a retry:
that request is gone (the gateway gives up after 15 s; a service's own waits are 5 s for the
barrier, 5 s for a lock and 2 s for the write's acknowledgement). Should it still be running
after all, its commit finds the key taken over and rolls back (``mark_committed``), so a
write is never carried out twice."""
ANSWER_LOST_SECONDS = 5.0
"""A key committed this long ago with no answer kept: its request died between committing
and answering (once committed, a request only waits for its events to reach the log, 2 s at
most, then answers). ``created_at`` is the commit's time from then on."""
PURGE_EVERY_SECONDS = 300.0
KEPT_HEADERS = ("content-type", "location", "x-event-delivery", "link")
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the draft's sf-string allows


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests the same request: method, target and body bytes."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def owner_of(scope: Scope, secret: str | None) -> str:
    """Whose key this is: the account of a valid bearer token, else the anonymous caller."""
    authorization = _header(scope, b"authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if secret and scheme.lower() == "bearer" and token:
        try:
            return "account:" + verify_token(secret, token.strip()).account_id
        except ProblemError:
            pass  # the route answers 401 itself; that answer is not kept
    return "anonymous"


class IdempotentWrites:
    """The ASGI middleware that gives a service's writes their ``Idempotency-Key``."""

    def __init__(
        self,
        app: ASGIApp,
        db: Database,
        secret: Callable[[], str | None] | None = None,
        exempt_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.db = db
        self.secret = secret or (lambda: None)
        # Writes whose answer must not be kept (a sign-in's answer is an access token): the
        # header is ignored there, and a retry simply runs again.
        self.exempt_paths = exempt_paths
        self._purged_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or scope["path"] in self.exempt_paths
        ):
            await self.app(scope, receive, send)
            return
        key = _header(scope, HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.match(key):
            problem = invalid_field(
                "Idempotency-Key", "1 to 255 visible ASCII characters (a UUID, say)"
            )
            await problem.response()(scope, receive, send)
            return
        body, replay_receive = await _buffered(receive)
        owner = owner_of(scope, self.secret())
        wanted = fingerprint(scope["method"], scope["path"], scope.get("query_string", b""), body)
        await self._purge_now_and_then()
        claim = uuid.uuid4().hex
        answer = await self._claim(owner, key, wanted, claim)
        if answer is not None:
            await _send_answer(send, *answer)
            return
        await self._run(scope, replay_receive, send, owner, key, claim)

    async def _claim(
        self, owner: str, key: str, wanted: str, claim: str
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """Claim the key for this request (None: run it), or the answer to give instead."""
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            row = await session.get(IdempotencyRecord, (owner, key), with_for_update=True)
            if row is not None and row.expires_at <= now:
                await session.delete(row)
                await session.flush()
                row = None
            if row is None:
                session.add(
                    IdempotencyRecord(
                        owner=owner,
                        key=key,
                        fingerprint=wanted,
                        state="started",
                        claim=claim,
                        created_at=now,
                        expires_at=now + timedelta(seconds=KEEP_SECONDS),
                    )
                )
                return None
            if row.fingerprint != wanted:
                return _problem(
                    ProblemError(
                        422,
                        "idempotency-key-reused",
                        "this Idempotency-Key was used for another request (method, path or "
                        "body); use a new key for a new request",
                        # A 422 names its fields (the ValidationProblem schema): here, the header.
                        extra={
                            "errors": [
                                {
                                    "field": "Idempotency-Key",
                                    "message": "already used for another request",
                                }
                            ]
                        },
                    )
                )
            if row.state == "answered" and row.status is not None:
                headers = [(str(k), str(v)) for k, v in json.loads(row.headers or "[]")]
                headers.append((REPLAYED_HEADER, "true"))
                return row.status, headers, (row.body or "").encode()
            age = (now - row.created_at).total_seconds()
            if row.state == "started" and age >= STALE_SECONDS:
                # Its request died before committing: this run takes the key over.
                row.created_at, row.claim = now, claim
                session.add(row)
                return None
            if row.state == "committed" and age >= ANSWER_LOST_SECONDS:
                return _problem(
                    ProblemError(
                        409,
                        "idempotency-key-answer-lost",
                        "the request with this Idempotency-Key was carried out, but its answer "
                        "was lost; read the resource to see its state",
                    )
                )
            return _problem(
                ProblemError(
                    409,
                    "idempotency-key-in-use",
                    "a request with this Idempotency-Key is still being carried out",
                    retry_after=1,
                )
            )

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, owner: str, key: str, claim: str
    ) -> None:
        status = 500
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        settled = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, settled
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() in KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # The answer is kept before its last byte leaves: a client that retries
                    # the moment it has the answer finds it kept, not "still being carried
                    # out" (409 idempotency-key-in-use, a race seen on PostgreSQL).
                    settled = True
                    clear_before_commit()  # keeping the answer is not the request's write
                    await self._settle(owner, key, claim, status, headers, b"".join(chunks))
            await send(message)

        async def mark_committed(session: AsyncSession) -> None:
            marked = await session.exec(
                update(IdempotencyRecord)
                .where(
                    col(IdempotencyRecord.owner) == owner,
                    col(IdempotencyRecord.key) == key,
                    col(IdempotencyRecord.claim) == claim,
                    col(IdempotencyRecord.state) == "started",
                )
                .values(state="committed", created_at=datetime.now(UTC))
            )
            if marked.rowcount != 1:  # taken over by a retry meanwhile: this run writes nothing
                raise ProblemError(
                    409,
                    "idempotency-key-in-use",
                    "a retry with this Idempotency-Key took it over; this request changed nothing",
                    retry_after=1,
                )

        token = set_before_commit(mark_committed)
        try:
            await self.app(scope, receive, capture)
        finally:
            reset_before_commit(token)
            if not settled:  # no answer, or not all of it (the route failed mid-way)
                await self._settle(owner, key, claim, status, headers, b"".join(chunks))

    async def _settle(
        self,
        owner: str,
        key: str,
        claim: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        """Keep the answer, or release the key of a request that decided nothing."""
        try:
            async with self.db.transaction() as session:
                row = await session.get(IdempotencyRecord, (owner, key), with_for_update=True)
                if row is None or row.claim != claim:
                    return  # taken over by a retry: its answer is the one kept
                decided_nothing = status in (401, 429) or (status >= 500 and row.state == "started")
                if decided_nothing:
                    await session.delete(row)
                    return
                row.state = "answered"
                row.status = status
                row.headers = json.dumps(headers)
                row.body = body.decode("utf-8", errors="replace")
                session.add(row)
        except Exception:
            # The answer went out; a retry then finds the key committed (or started), and is
            # told so rather than run twice.
            log.exception("could not keep the answer for an Idempotency-Key")

    async def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._purged_at < PURGE_EVERY_SECONDS:
            return
        self._purged_at = now
        async with self.db.transaction() as session:
            await session.exec(
                delete(IdempotencyRecord).where(
                    col(IdempotencyRecord.expires_at) <= datetime.now(UTC)
                )
            )


def _problem(problem: ProblemError) -> tuple[int, list[tuple[str, str]], bytes]:
    response = problem.response()
    headers = [(k, v) for k, v in response.headers.items() if k != "content-length"]
    return problem.status, headers, bytes(response.body)


async def _send_answer(
    send: Send, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that gives it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
