"""Versions of keyed records (contact details on ``registration.contacts``), so that an older
record, real and signed, cannot be sent again and win.

A contact record carries ``version`` in its value, a number registration raises with each
record of the account: the value is what is signed (``signing.record_digest`` covers key and
value), so the version is as authentic as the rest. A tombstone has no value, and needs no
version: an account is erased once and for good (its id is never given again), so a
tombstone is the last record of its key. A consumer keeps per key the highest version
applied with that record's digest, and whether a tombstone ended the key
(``RecordVersion``), and judges each record against it before anything is applied:

- a tombstone is applied (again, harmlessly, when it comes twice) and ends the key;
- a versioned record after the tombstone, or older than the version applied, or at the
  version applied with another digest, is refused with the reason;
- the record applied already (same version, same digest) is a duplicate, skipped quietly;
- a newer version is applied: versions need not follow one another, since compaction keeps
  only each key's latest record.

Records written before versions existed have none. Following the contract policy
(docs/events/README.md: a reader keeps reading what was published), they are read as before,
the handler deciding by their ``updated_at`` and dropping details of an erased account; they
are refused only where the versions tell for certain that they are older: once a versioned
record of the key was applied (docs/event-signing.md, "Contact records")."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.batch import rows_with_keys, upsert
from hackathon_shared.events.catalogue import ContactDetails
from hackathon_shared.messaging_tables import RecordVersion

VERSION_FIELD = "version"


def versioned_contact_json(contact: ContactDetails, version: int) -> str:
    """The value registration publishes: the contact details and their version."""
    if version < 1:
        raise ValueError(f"a record's version is at least 1, got {version}")
    body: dict[str, Any] = json.loads(contact.model_dump_json())
    body[VERSION_FIELD] = version
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class VersionError(ValueError):
    """A record whose version is not a positive whole number."""


def version_of(value: bytes | bytearray | str | None) -> int | None:
    """The version a record's value carries; None for a tombstone or a record from before
    versions. Raises :class:`VersionError` for a version that is not a positive integer
    (``true`` and ``1.0`` included). The value was decoded as a contact record already."""
    if value is None:
        return None
    body = json.loads(value)
    if not isinstance(body, dict) or VERSION_FIELD not in body:
        return None
    version = body[VERSION_FIELD]
    if type(version) is not int or version < 1:
        raise VersionError(f"its version must be a positive integer, got {version!r}")
    return version


@dataclass(frozen=True)
class KeyState:
    version: int | None = None
    digest: str | None = None
    ended: bool = False


class Verdict(enum.Enum):
    APPLY = "apply"
    DUPLICATE = "duplicate"
    REFUSE = "refuse"


def judge_record(
    state: KeyState | None, *, tombstone: bool, version: int | None, digest: str
) -> tuple[Verdict, str, KeyState | None]:
    """The verdict on one record given what its key holds; with the reason for a refusal,
    and the key's state once it is applied (None where it does not change)."""
    state = state or KeyState()
    if tombstone:
        return Verdict.APPLY, "", KeyState(state.version, state.digest, ended=True)
    if version is None:
        if state.version is not None:
            return (
                Verdict.REFUSE,
                f"record version: a record without a version after version {state.version}"
                " was applied: an older record sent again",
                None,
            )
        return Verdict.APPLY, "", None  # from before versions: the handler decides, as before
    if state.ended:
        return (
            Verdict.REFUSE,
            f"record version: version {version} after the key's tombstone (the account is"
            " erased): an older record sent again",
            None,
        )
    if state.version is not None:
        if version < state.version:
            return (
                Verdict.REFUSE,
                f"record version: version {version} is older than version {state.version},"
                " applied already",
                None,
            )
        if version == state.version:
            if digest == state.digest:
                return Verdict.DUPLICATE, "", None
            return (
                Verdict.REFUSE,
                f"record version: another record with version {version} was applied already",
                None,
            )
    return Verdict.APPLY, "", KeyState(version, digest, ended=False)


class RecordVersions:
    """The states of the keys one batch touches, moved on as its records are judged."""

    def __init__(self, states: Mapping[str, KeyState]) -> None:
        self.states = dict(states)
        self.changed: set[str] = set()

    def judge(
        self, key: str, *, tombstone: bool, version: int | None, digest: str
    ) -> tuple[Verdict, str]:
        verdict, reason, after = judge_record(
            self.states.get(key), tombstone=tombstone, version=version, digest=digest
        )
        if after is not None:
            self.states[key] = after
            self.changed.add(key)
        return verdict, reason


async def read_versions(session: AsyncSession, topic: str, keys: Iterable[str]) -> RecordVersions:
    """The stored states of ``keys`` on ``topic``: one statement per batch."""
    rows = await rows_with_keys(
        session, RecordVersion, ["topic", "record_key"], [(topic, key) for key in keys], fresh=True
    )
    return RecordVersions(
        {row.record_key: KeyState(row.version, row.digest, row.ended) for row in rows}
    )


async def write_versions(session: AsyncSession, topic: str, versions: RecordVersions) -> None:
    """Store the states the batch changed: one statement."""
    rows = [
        {
            "topic": topic,
            "record_key": key,
            "version": versions.states[key].version,
            "digest": versions.states[key].digest,
            "ended": versions.states[key].ended,
        }
        for key in sorted(versions.changed)
    ]
    if rows:
        await upsert(session, RecordVersion.__table__, ["topic", "record_key"], rows)  # type: ignore[attr-defined]
    versions.changed = set()
