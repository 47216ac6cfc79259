"""Chain links: the hash of each chain's head beside its sequence, and the events that passed
without being applied (docs/consistency.md, "The chain continues").

Revision ID: 0006
Revises: 0005
"""

from hackathon_shared.messaging_tables import add_chain_links, drop_chain_links

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_chain_links()


def downgrade() -> None:
    drop_chain_links()
