"""Chain links: the hash of each chain's head beside its sequence, and the events that passed
without being applied (docs/consistency.md, "The chain continues").
Also the highest version of each contact record applied, per account (record_versions).

Revision ID: 0008
Revises: 0007
"""

from hackathon_shared.messaging_tables import (
    add_chain_links,
    create_record_versions_table,
    drop_chain_links,
    drop_record_versions_table,
)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_chain_links()
    create_record_versions_table()


def downgrade() -> None:
    drop_record_versions_table()
    drop_chain_links()
