"""Team names are one name when their confusable-safe keys are equal (registration.domain.
teams.name_key), and migration 0004 moves the stored keys of existing teams to that key
without breaking a team that already exists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hackathon_shared.db import make_engine
from hackathon_shared.migrations import alembic_config
from hackathon_shared.problems import ProblemError
from registration.app import MIGRATIONS
from registration.domain.teams import NAME_KEY_MAX_LENGTH, name_key


@pytest.mark.parametrize(
    "twin",
    [
        "open data owls",
        "Open Data Owls\u200b",  # zero-width space
        "\u041epen Data Owls",  # Cyrillic capital O
        "\uff2f\uff50\uff45\uff4e \uff24\uff41\uff54\uff41 \uff2f\uff57\uff4c\uff53",  # full-width
        "Open\u00a0Data   Owls ",
        "\u2060Open Data Owls",  # word joiner
    ],
)
def test_a_name_that_only_looks_different_has_the_same_key(twin: str) -> None:
    assert name_key(twin) == name_key("Open Data Owls")


def test_a_name_whose_key_outgrows_its_column_is_refused() -> None:
    ligature = "\ufdfa"  # one character, eighteen once NFKC spells it out
    assert len(name_key(ligature * 22)) <= NAME_KEY_MAX_LENGTH
    with pytest.raises(ProblemError) as refused:
        name_key(ligature * 23)
    assert (refused.value.status, refused.value.kind) == (422, "validation")
    assert refused.value.extra["errors"][0]["field"] == "name"


# ---- migration 0004

T0 = datetime(2030, 1, 1, tzinfo=UTC)
H1, H2 = "hck_one", "hck_two"
# (team_id, hackathon, name, key the old rule stored, status), in order of creation.
OLD_TEAMS = [
    ("team_a", H1, "Owls", "owls", "active"),
    ("team_b", H1, "\u041ewls", "\u043ewls", "active"),  # Cyrillic O: another name before
    ("team_c", H1, "\uff2f\uff37\uff2c\uff33", "\uff4f\uff57\uff4c\uff53", "withdrawn"),
    ("team_d", H1, "B\u0435\u0435s", "b\u0435\u0435s", "active"),  # Cyrillic e, first
    ("team_e", H1, "Bees", "bees", "active"),  # its old key is team_d's new one
    ("team_f", H2, "Owls\u200b", "owls\u200b", "active"),
    ("team_g", H1, "\ufdfa" * 23, "\ufdfa" * 23, "active"),  # new key would not fit
]
NEW_KEYS = {
    "team_a": "owls",
    "team_b": "owls#team_b",  # the earlier team keeps the key, this one keeps its name
    "team_c": "owls",  # withdrawn: no unique key to keep
    "team_d": "bees",
    "team_e": "bees#team_e",
    "team_f": "owls",  # another hackathon
    "team_g": "\ufdfa" * 23,
}


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _seed(connection: Connection) -> None:
    for hackathon_id in (H1, H2):
        connection.execute(
            sa.text(
                "INSERT INTO hackathons (hackathon_id, name, phase, max_teams, min_team_size, "
                "max_team_size, definition, created_by, created_at) VALUES "
                "(:h, 'H', 'registration', 10, 1, 4, '{}', 'acc_org', :t)"
            ),
            {"h": hackathon_id, "t": T0},
        )
    for number, (team_id, hackathon_id, name, key, status) in enumerate(OLD_TEAMS):
        connection.execute(
            sa.text(
                "INSERT INTO teams (team_id, hackathon_id, name, name_key, challenge_id, "
                "captain_id, invite_code, status, created_at) VALUES "
                "(:team, :h, :name, :key, 'chl', 'acc', 'code', :status, :t)"
            ),
            {
                "team": team_id,
                "h": hackathon_id,
                "name": name,
                "key": key,
                "status": status,
                "t": T0 + timedelta(minutes=number),
            },
        )


def _column(connection: Connection, column: str) -> dict[str, str]:
    rows = connection.execute(sa.text(f"SELECT team_id, {column} FROM teams")).all()
    return {str(team_id): str(value) for team_id, value in rows}


def _keys(connection: Connection) -> dict[str, str]:
    return _column(connection, "name_key")


async def test_migration_0004_rekeys_old_teams_and_keeps_them_all(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, "0003")
            await connection.run_sync(_seed)
            await connection.run_sync(_upgrade, "head")
            assert await connection.run_sync(_keys) == NEW_KEYS
            names = await connection.run_sync(_column, "name")
            assert names == {team_id: name for team_id, _h, name, _k, _s in OLD_TEAMS}

        # The unique key now holds by the new rule: another active "Owls" with a
        # Cyrillic O in H1 is refused.
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(
                    sa.text(
                        "INSERT INTO teams (team_id, hackathon_id, name, name_key, challenge_id,"
                        " captain_id, invite_code, status, created_at) VALUES ('team_h', :h, "
                        "'\u041ewls', :key, 'chl', 'acc', 'code', 'active', :t)"
                    ),
                    {"h": H1, "key": name_key("\u041ewls"), "t": T0 + timedelta(hours=1)},
                )

        # Downgrading restores the old rule's keys.
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0003")
            assert await connection.run_sync(_keys) == {t: k for t, _h, _n, k, _s in OLD_TEAMS}
    finally:
        await engine.dispose()
