"""alerts: rules, series states, transitions, silences, maintenance windows

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("signal", sa.String(length=30), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("comparison", sa.String(length=2), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("for_seconds", sa.Integer(), nullable=False),
        sa.Column("keep_firing_for_seconds", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("no_data", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("channel_ids", sa.JSON(), nullable=False),
        sa.Column("health", sa.String(length=10), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("last_evaluated_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_evaluation_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "comparison IN ('>', '>=', '<', '<=', '==', '!=')",
            name=op.f("ck_alert_rules_comparison"),
        ),
        sa.CheckConstraint(
            "health IN ('unknown', 'ok', 'error')", name=op.f("ck_alert_rules_health")
        ),
        sa.CheckConstraint(
            "no_data IN ('ok', 'alerting', 'keep')", name=op.f("ck_alert_rules_no_data")
        ),
        sa.CheckConstraint(
            "severity IN ('critical', 'warning', 'info')", name=op.f("ck_alert_rules_severity")
        ),
        sa.CheckConstraint(
            "signal IN ('web_vital_p75', 'service_down', 'service_latency_p95', 'task_failed', 'task_overdue', 'scraped_metric', 'promql')",
            name=op.f("ck_alert_rules_signal"),
        ),
        sa.CheckConstraint("for_seconds >= 0", name=op.f("ck_alert_rules_for_seconds")),
        sa.CheckConstraint(
            "keep_firing_for_seconds >= 0", name=op.f("ck_alert_rules_keep_firing_for_seconds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_alert_rules_name")),
    )
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("starts_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_alert_silences_ends_after_start")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_silences")),
    )
    op.create_index("ix_alert_silences_ends_at", "alert_silences", ["ends_at"], unique=False)
    op.create_table(
        "alert_series",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("active_since", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("firing_since", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_notified_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('inactive', 'pending', 'firing')", name=op.f("ck_alert_series_state")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_series_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_series")),
        sa.UniqueConstraint(
            "rule_id", "fingerprint", name=op.f("uq_alert_series_rule_id_fingerprint")
        ),
    )
    op.create_index(
        op.f("ix_alert_series_resolved_at"), "alert_series", ["resolved_at"], unique=False
    )
    op.create_table(
        "alert_transitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("from_state", sa.String(length=10), nullable=False),
        sa.Column("to_state", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "from_state IN ('inactive', 'pending', 'firing', 'resolved')",
            name=op.f("ck_alert_transitions_from_state"),
        ),
        sa.CheckConstraint(
            "to_state IN ('inactive', 'pending', 'firing', 'resolved')",
            name=op.f("ck_alert_transitions_to_state"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_transitions_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_transitions")),
    )
    op.create_index("ix_alert_transitions_at", "alert_transitions", ["at"], unique=False)
    op.create_index(
        "ix_alert_transitions_rule_id_at", "alert_transitions", ["rule_id", "at"], unique=False
    )
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("starts_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("weekday", sa.SmallInteger(), nullable=True),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind != 'once' OR (starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at)",
            name=op.f("ck_maintenance_windows_once_bounds"),
        ),
        sa.CheckConstraint(
            "kind != 'weekly' OR (weekday BETWEEN 0 AND 6 AND start_time IS NOT NULL AND duration_minutes > 0 AND timezone IS NOT NULL)",
            name=op.f("ck_maintenance_windows_weekly_fields"),
        ),
        sa.CheckConstraint("kind IN ('once', 'weekly')", name=op.f("ck_maintenance_windows_kind")),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_maintenance_windows_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )


def downgrade() -> None:
    op.drop_table("maintenance_windows")
    op.drop_index("ix_alert_transitions_rule_id_at", table_name="alert_transitions")
    op.drop_index("ix_alert_transitions_at", table_name="alert_transitions")
    op.drop_table("alert_transitions")
    op.drop_index(op.f("ix_alert_series_resolved_at"), table_name="alert_series")
    op.drop_table("alert_series")
    op.drop_index("ix_alert_silences_ends_at", table_name="alert_silences")
    op.drop_table("alert_silences")
    op.drop_table("alert_rules")
