"""notify: channels and the notification outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("severities", sa.JSON(), nullable=False),
        sa.Column("label_matchers", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('webhook', 'slack', 'email', 'alertmanager')",
            name=op.f("ck_notify_channels_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_notify_channels_name")),
    )
    op.create_table(
        "notify_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'dead')", name=op.f("ck_notify_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notify_channels.id"],
            name=op.f("fk_notify_outbox_channel_id_notify_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
        sa.UniqueConstraint(
            "idempotency_key",
            "channel_id",
            name=op.f("uq_notify_outbox_idempotency_key_channel_id"),
        ),
    )
    op.create_index("ix_notify_outbox_channel_id", "notify_outbox", ["channel_id"], unique=False)
    op.create_index(
        "ix_notify_outbox_status_next_attempt_at",
        "notify_outbox",
        ["status", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notify_outbox_status_next_attempt_at", table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_channel_id", table_name="notify_outbox")
    op.drop_table("notify_outbox")
    op.drop_table("notify_channels")
