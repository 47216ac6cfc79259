"""Fixtures of the fault suite: a platform of its own per database, shared by the scenarios
of one module (each runs its own hackathon on it, so they do not see each other's effects)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hackathon_cli.platform import Platform
from tests.faults.ledger import fault_platform
from tests.mail_fixtures import SmtpServer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def faulty_platform(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    smtp_server: SmtpServer,
) -> Iterator[Platform]:
    """A platform on the embedded broker, on SQLite files and on PostgreSQL (one database
    per service), for the scenarios of one module."""
    data_dir = tmp_path_factory.mktemp(f"faults-{request.param}")
    with fault_platform(data_dir, smtp_server, request.param) as platform:
        yield platform
