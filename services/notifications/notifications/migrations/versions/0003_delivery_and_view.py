"""Notifications rendered when read (context instead of stored text), outgoing deliveries,
webhooks, and the copy of registration's facts that addressing needs.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("context", sa.JSON, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_column("subject")
        batch.drop_column("body")
    op.execute("UPDATE notifications SET stored_at = created_at")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("stored_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index("ix_notifications_stored", "notifications", ["account_id", "stored_at"])

    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("causing_event_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=True),
        sa.Column("notification_id", sa.String(64), nullable=True),
        sa.Column("webhook_id", sa.String(64), nullable=True),
        sa.Column("event_json", sa.Text, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_account_id", "deliveries", ["account_id"])
    op.create_index("ix_deliveries_webhook_id", "deliveries", ["webhook_id"])

    op.create_table(
        "webhooks",
        sa.Column("webhook_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhooks_hackathon_id", "webhooks", ["hackathon_id"])

    op.create_table(
        "contacts",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "known_hackathons",
        sa.Column("hackathon_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    op.create_table(
        "known_teams",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_known_teams_hackathon_id", "known_teams", ["hackathon_id"])
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("joined_seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("team_members", "known_teams", "known_hackathons", "contacts", "webhooks"):
        op.drop_table(table)
    op.drop_table("deliveries")
    op.drop_index("ix_notifications_stored", "notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("subject", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("body", sa.Text, nullable=False, server_default=""))
        batch.drop_column("stored_at")
        batch.drop_column("context")
