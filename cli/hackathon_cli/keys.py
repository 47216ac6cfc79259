"""``hackathon keys init|rotate``: the event signing keys of a deployment (docs/event-signing.md).

``init`` makes a key for every producing service that has none in the directory, and writes
the trusted public keys (``trusted-keys.json``), keeping keys already there. ``rotate SERVICE``
gives one service a new key; the old public key stays trusted, so the events it signed still
verify. The run command does ``init`` into its data directory by itself; for Compose, run it
once into the directory the compose file reads its secrets from (``EVENT_KEYS_DIR``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from hackathon_shared.signing import KeyFiles, ensure_platform_keys, rotate_signing_key
from hackathon_shared.topics import EVENTS_TOPIC_OF_PRODUCER


def _init(args: argparse.Namespace) -> int:
    files = ensure_platform_keys(Path(args.dir), EVENTS_TOPIC_OF_PRODUCER)
    print(f"signing keys in {files.directory}; trusted public keys: {files.trusted}")
    print(
        "publish the trusted keys to auditors (docs/event-signing.md); keep the .key files secret"
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    files = KeyFiles(Path(args.dir))
    signer = rotate_signing_key(files, args.service)
    print(f"{args.service} now signs with {signer.key_id}; restart it to take the new key")
    print(f"the old key stays trusted in {files.trusted}: publish the file again")
    return 0


def add_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="the event signing keys (docs/event-signing.md)")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    default_dir = os.environ.get("EVENT_KEYS_DIR", "keys")
    init = sub.add_parser("init", help="make missing keys and write the trusted public keys")
    init.add_argument("--dir", default=default_dir, help="where the keys are (EVENT_KEYS_DIR)")
    init.set_defaults(handler=_init)
    rotate = sub.add_parser("rotate", help="give a service a new key, keeping the old trusted")
    rotate.add_argument("service", choices=sorted(EVENTS_TOPIC_OF_PRODUCER))
    rotate.add_argument("--dir", default=default_dir, help="where the keys are (EVENT_KEYS_DIR)")
    rotate.set_defaults(handler=_rotate)
