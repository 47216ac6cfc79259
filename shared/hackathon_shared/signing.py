"""Who wrote an event: every producing service signs each event with its own Ed25519 key, and
consumers and auditors check the signature with public keys only.

The hash chain (``events.envelope``) shows that a log was not edited, but SHA-256 has no key:
anyone who can write to the broker can append a chain-valid event. The signature is the
producer's Ed25519 signature of the event's ``hash``, which covers every field of the
envelope; a key id names the key. Both travel in the record's headers
(:data:`SIGNATURE_HEADER`, :data:`KEY_ID_HEADER`), beside the envelope's JSON rather than
inside it: the v1 envelope forbids unknown fields, so adding them to it would make every
consumer of the published v1 contracts refuse every new event (docs/events/README.md), and
the JSON and its hash of an event stay what they were.

Keys (docs/event-signing.md):
- a service's **signing key** is a PKCS#8 PEM file of its own (``EVENT_SIGNING_KEY_FILE``),
  its key id derived from the public key (``<producer>-<16 hex digits>``);
- the **trusted keys** are one JSON file of public keys (``EVENT_TRUSTED_KEYS_FILE``), each
  with the producer it speaks for: what consumers and ``audit verify`` check against, and what
  is published to auditors. Rotating a key adds the new one and keeps the old one trusted for
  the events it signed; removing a key from the file stops trusting what it signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hackathon_shared.events.envelope import Envelope, compute_hash

SIGNATURE_HEADER = "hackathon-signature"
KEY_ID_HEADER = "hackathon-key-id"
TRUSTED_KEYS_FORMAT = "hackathon-event-keys/1"


def raw_hash(raw: bytes) -> str:
    """The hash of an event as its producer wrote it: over the JSON as read, not a model's
    dump of it (which would add the defaults of fields younger than the event, and so fail
    a real event written under an older schema). As the audit hashes it."""
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise SignatureRefused("bad-hash", "the value is not a JSON object")
    body.pop("hash", None)
    return compute_hash(body)


def record_digest(key: bytes | None, value: bytes | None) -> str:
    """What is signed for a plain keyed record, which has no envelope or hash (contact
    details on ``registration.contacts``): SHA-256 of its key and value, a tombstone marked
    as such, so that neither can be swapped for another record's."""
    digest = hashlib.sha256(b"hackathon-record\0")
    digest.update(key or b"")
    digest.update(b"\0value\0" + value if value is not None else b"\0tombstone")
    return digest.hexdigest()


class SignatureRefused(ValueError):
    """An event whose signature does not show that its producer wrote it. ``kind`` names
    why: ``unsigned``, ``untrusted-key``, ``wrong-producer`` (a key, or an event's producer
    field, of another service than the topic's), ``bad-hash`` or ``bad-signature``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(producer: str, public_key: Ed25519PublicKey) -> str:
    """``<producer>-<first 16 hex digits of SHA-256 of the raw public key>``."""
    return f"{producer}-{hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]}"


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    producer: str
    public_key: Ed25519PublicKey
    created_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "key_id": self.key_id,
            "producer": self.producer,
            "algorithm": "Ed25519",
            "public_key": _b64(_raw_public(self.public_key)),
        }
        if self.created_at is not None:
            entry["created_at"] = self.created_at
        return entry


@dataclass(frozen=True)
class EventSigner:
    """A producing service's key: signs the hash of each event it publishes."""

    producer: str
    key_id: str
    private_key: Ed25519PrivateKey

    def headers_for(self, signed: str) -> dict[str, str]:
        """The headers that carry this key's signature of ``signed``: an event's hash, or a
        plain record's :func:`record_digest`."""
        signature = self.private_key.sign(signed.encode("ascii"))
        return {SIGNATURE_HEADER: _b64(signature), KEY_ID_HEADER: self.key_id}

    def trusted(self, created_at: str | None = None) -> TrustedKey:
        return TrustedKey(self.key_id, self.producer, self.private_key.public_key(), created_at)


class TrustedKeys:
    """The public keys events are checked against, by key id, each bound to its producer."""

    def __init__(self, keys: Iterable[TrustedKey]) -> None:
        self._keys = {key.key_id: key for key in keys}

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def entries(self) -> list[TrustedKey]:
        return list(self._keys.values())

    def check_signature(self, signed: str, headers: Mapping[str, str], producer: str) -> str:
        """The key id whose signature over ``signed`` (an event's hash, a record's digest)
        the headers carry, once checked to be a trusted key of ``producer``; raises
        :class:`SignatureRefused` otherwise."""
        signature, key_id = headers.get(SIGNATURE_HEADER), headers.get(KEY_ID_HEADER)
        if not signature or not key_id:
            raise SignatureRefused(
                "unsigned", "unsigned: no signature or key id in the record's headers"
            )
        key = self._keys.get(key_id)
        if key is None:
            raise SignatureRefused(
                "untrusted-key", f"signed with key {key_id!r}, which is not trusted"
            )
        if key.producer != producer:
            raise SignatureRefused(
                "wrong-producer", f"signed with key {key_id!r} of {key.producer}, not of {producer}"
            )
        try:
            key.public_key.verify(_unb64(signature), signed.encode("ascii"))
        except (InvalidSignature, ValueError) as error:
            raise SignatureRefused(
                "bad-signature", f"signature does not verify with key {key_id!r}"
            ) from error
        return key_id

    def check(
        self,
        envelope: Envelope,
        headers: Mapping[str, str],
        topic_producer: str,
        raw: bytes | None = None,
    ) -> str:
        """The key id that signed ``envelope``, after checking, in this order: that the event
        claims the producer its topic belongs to, that its hash matches its content, that it
        is signed, that the key is trusted and speaks for that producer, and that the
        signature is the key's over the hash. Raises :class:`SignatureRefused` naming the
        first check that failed."""
        if envelope.producer != topic_producer:
            raise SignatureRefused(
                "wrong-producer",
                f"producer {envelope.producer!r} on {topic_producer}'s topic: only "
                f"{topic_producer} publishes there",
            )
        content_hash = raw_hash(raw) if raw is not None else envelope.computed_hash()
        if content_hash != envelope.hash:
            raise SignatureRefused("bad-hash", "hash does not match the event's content")
        return self.check_signature(envelope.hash, headers, topic_producer)

    def to_json(self) -> str:
        document = {"format": TRUSTED_KEYS_FORMAT, "keys": [k.as_json() for k in self.entries()]}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def text_headers(headers: Sequence[tuple[str, bytes | str | None]] | None) -> dict[str, str]:
    """A record's headers as text (the last value of a repeated header wins)."""
    found: dict[str, str] = {}
    for name, value in headers or ():
        if isinstance(value, bytes):
            try:
                found[name] = value.decode("utf-8")
            except UnicodeDecodeError:
                continue
        elif value is not None:
            found[name] = value
    return found


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def load_signer(path: Path, producer: str) -> EventSigner:
    """The signing key in ``path`` (PKCS#8 PEM, unencrypted, Ed25519), for ``producer``."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the event signing key {path}: {error}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return EventSigner(producer, key_id_of(producer, key.public_key()), key)


def load_trusted_keys(path: Path) -> TrustedKeys:
    """The trusted public keys in ``path`` (:meth:`TrustedKeys.to_json`'s format)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the trusted event keys {path}: {error}") from error
    if not isinstance(document, dict) or document.get("format") != TRUSTED_KEYS_FORMAT:
        raise ValueError(f"{path} is not a {TRUSTED_KEYS_FORMAT} document")
    keys = []
    for entry in document.get("keys", []):
        try:
            public = Ed25519PublicKey.from_public_bytes(_unb64(entry["public_key"]))
            producer = str(entry["producer"])
            key_id = str(entry["key_id"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: a key entry is malformed: {error!r}") from error
        if key_id != key_id_of(producer, public):
            raise ValueError(f"{path}: key id {key_id!r} does not match its public key")
        keys.append(TrustedKey(key_id, producer, public, entry.get("created_at")))
    owners: dict[bytes, str] = {}
    for key in keys:
        owner = owners.setdefault(_raw_public(key.public_key), key.producer)
        if owner != key.producer:
            raise ValueError(f"{path}: one public key is listed for {owner} and {key.producer}")
    return TrustedKeys(keys)


def new_signing_key(path: Path, producer: str) -> EventSigner:
    """Generate a key for ``producer`` into ``path`` (created 0600; never overwritten)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    return EventSigner(producer, key_id_of(producer, key.public_key()), key)


def write_trusted_keys(path: Path, keys: Iterable[TrustedKey]) -> None:
    """Replace the file in one step (a temporary file of its own in the same directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(TrustedKeys(keys).to_json())
    os.chmod(temporary, 0o644)  # public keys: readable by the services' user too
    Path(temporary).replace(path)


@dataclass(frozen=True)
class KeyFiles:
    """Where a platform's keys are: one signing key per producer, one trusted-keys file."""

    directory: Path

    def signing_key(self, producer: str) -> Path:
        return self.directory / f"{producer}.key"

    @property
    def trusted(self) -> Path:
        return self.directory / "trusted-keys.json"


def ensure_platform_keys(directory: Path, producers: Iterable[str]) -> KeyFiles:
    """Make sure every producer has a signing key in ``directory`` and that the trusted-keys
    file lists each one's public key (keys already there, older ones included, are kept: they
    still vouch for the events they signed). Generated once, then reused (the run command)."""
    files = KeyFiles(directory)
    trusted = load_trusted_keys(files.trusted).entries() if files.trusted.exists() else []
    known = {key.key_id for key in trusted}
    now = datetime.now(UTC).isoformat()
    for producer in producers:
        path = files.signing_key(producer)
        signer = load_signer(path, producer) if path.exists() else new_signing_key(path, producer)
        if signer.key_id not in known:
            trusted.append(signer.trusted(created_at=now))
            known.add(signer.key_id)
    write_trusted_keys(files.trusted, trusted)
    return files


def rotate_signing_key(files: KeyFiles, producer: str) -> EventSigner:
    """Give ``producer`` a new signing key: the old key file is kept beside it (renamed with
    its key id), and both public keys stay trusted."""
    current = files.signing_key(producer)
    if current.exists():
        old = load_signer(current, producer)
        current.rename(current.with_name(f"{old.key_id}.key.retired"))
    signer = new_signing_key(current, producer)
    trusted = load_trusted_keys(files.trusted).entries() if files.trusted.exists() else []
    trusted.append(signer.trusted(created_at=datetime.now(UTC).isoformat()))
    write_trusted_keys(files.trusted, trusted)
    return signer
