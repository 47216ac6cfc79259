"""Team name keys become confusable-safe (docs/input-rules.md).

``teams.name_key`` held the trimmed, case-folded name; it now holds the name's comparison key
(NFKC, case folding, invisible characters removed, Cyrillic and Greek look-alikes of Latin
letters mapped), so that "Owls", "Owls" in full-width letters, "Owls" with a Cyrillic O and
"Owls" with a zero-width space are one name. Every row's key is computed again.

Old rows keep working. Teams that the old key told apart but the new one does not (two active
teams of one hackathon, "Owls" and "Owls" with a Cyrillic O) both keep their names: the
earliest keeps the key, and each later one gets the key followed by ``#`` and its own id
(unique, and a tail that only a name typed to match it would have). A name whose new key
would not fit the column keeps its old key. Downgrading puts the old rule's keys back.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from hackathon_shared.text import comparison_key

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY_COLUMN_LENGTH = 400


def _old_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _rekey(key_of: Callable[[str], str]) -> None:
    connection = op.get_bind()
    teams = connection.execute(
        sa.text(
            "SELECT team_id, hackathon_id, name, name_key, status FROM teams "
            "ORDER BY hackathon_id, created_at, team_id"
        )
    ).all()
    taken: set[tuple[str, str]] = set()
    changed: list[tuple[str, str]] = []
    for team_id, hackathon_id, name, stored, status in teams:
        key = key_of(name)
        if len(key) > KEY_COLUMN_LENGTH:
            key = stored
        if status == "active":
            if (hackathon_id, key) in taken:
                key = f"{key[: KEY_COLUMN_LENGTH - len(team_id) - 1]}#{team_id}"
            taken.add((hackathon_id, key))
        if key != stored:
            changed.append((team_id, key))
    update = sa.text("UPDATE teams SET name_key = :key WHERE team_id = :team_id")
    # First every changed key out of the way (a team's id is unique), then the new keys: a
    # team taking another's old key never meets the unique index half-way.
    if changed:
        connection.execute(update, [{"key": f"#{t}", "team_id": t} for t, _ in changed])
        connection.execute(update, [{"key": k, "team_id": t} for t, k in changed])


def upgrade() -> None:
    _rekey(comparison_key)


def downgrade() -> None:
    _rekey(_old_key)
