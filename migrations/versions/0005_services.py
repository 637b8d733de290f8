"""services: registry, health-check results, state changes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("health_path", sa.String(length=200), nullable=False),
        sa.Column("expected_status", sa.SmallInteger(), nullable=False),
        sa.Column("metrics_path", sa.String(length=200), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("ping_token", sa.String(length=64), nullable=False),
        sa.Column("failure_threshold", sa.SmallInteger(), nullable=False),
        sa.Column("success_threshold", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("state_changed_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("consecutive_successes", sa.Integer(), nullable=False),
        sa.Column("last_check_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'up', 'down', 'paused')", name=op.f("ck_services_state")
        ),
        sa.CheckConstraint(
            "expected_status BETWEEN 100 AND 599", name=op.f("ck_services_expected_status")
        ),
        sa.CheckConstraint("failure_threshold >= 1", name=op.f("ck_services_failure_threshold")),
        sa.CheckConstraint("interval_seconds >= 10", name=op.f("ck_services_interval_seconds")),
        sa.CheckConstraint("success_threshold >= 1", name=op.f("ck_services_success_threshold")),
        sa.CheckConstraint("timeout_seconds > 0", name=op.f("ck_services_timeout_seconds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("name", name=op.f("uq_services_name")),
        sa.UniqueConstraint("ping_token", name=op.f("uq_services_ping_token")),
    )
    op.create_index(
        "ix_services_enabled_next_check_at", "services", ["enabled", "next_check_at"], unique=False
    )
    op.create_table(
        "service_checks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_checks_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_checks")),
    )
    op.create_index("ix_service_checks_checked_at", "service_checks", ["checked_at"], unique=False)
    op.create_index(
        "ix_service_checks_service_id_checked_at",
        "service_checks",
        ["service_id", "checked_at"],
        unique=False,
    )
    op.create_table(
        "service_state_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=10), nullable=False),
        sa.Column("to_state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_state_changes_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_state_changes")),
    )
    op.create_index(
        "ix_service_state_changes_changed_at", "service_state_changes", ["changed_at"], unique=False
    )
    op.create_index(
        "ix_service_state_changes_service_id_changed_at",
        "service_state_changes",
        ["service_id", "changed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_service_state_changes_service_id_changed_at", table_name="service_state_changes"
    )
    op.drop_index("ix_service_state_changes_changed_at", table_name="service_state_changes")
    op.drop_table("service_state_changes")
    op.drop_index("ix_service_checks_service_id_checked_at", table_name="service_checks")
    op.drop_index("ix_service_checks_checked_at", table_name="service_checks")
    op.drop_table("service_checks")
    op.drop_index("ix_services_enabled_next_check_at", table_name="services")
    op.drop_table("services")
