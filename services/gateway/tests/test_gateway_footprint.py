"""The gateway has no database: it must not load SQLAlchemy, SQLModel or a database driver.

They used to come in through shared modules (the problem handlers, the page types) and cost
the gateway about 18 MiB of resident memory and a second of start-up (docs/benchmarks.md)."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from gateway.app import create_app
create_app()
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"sqlalchemy", "sqlmodel", "aiosqlite", "asyncpg", "alembic"}
)
print(",".join(loaded))
"""


def test_the_gateway_loads_no_database_library() -> None:
    env = os.environ | {"HACKATHON_JWT_SECRET": "a-secret-long-enough-for-the-check"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
