"""tasks: tasks (with schedules), task runs, task status changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("status_changed_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("schedule_kind", sa.String(length=6), nullable=False),
        sa.Column("period_seconds", sa.Integer(), nullable=False),
        sa.Column("cron_expression", sa.String(length=100), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("grace_seconds", sa.Integer(), nullable=False),
        sa.Column("max_run_seconds", sa.Integer(), nullable=False),
        sa.Column("last_run_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=10), nullable=True),
        sa.Column("next_expected_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "schedule_kind = 'period' OR cron_expression IS NOT NULL",
            name=op.f("ck_tasks_cron_expression"),
        ),
        sa.CheckConstraint(
            "schedule_kind IN ('period', 'cron')", name=op.f("ck_tasks_schedule_kind")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'running', 'up', 'failed', 'overdue', 'paused')",
            name=op.f("ck_tasks_status"),
        ),
        sa.CheckConstraint("grace_seconds >= 0", name=op.f("ck_tasks_grace_seconds")),
        sa.CheckConstraint("max_run_seconds >= 1", name=op.f("ck_tasks_max_run_seconds")),
        sa.CheckConstraint("period_seconds >= 1", name=op.f("ck_tasks_period_seconds")),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_tasks_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("service_id", "name", name=op.f("uq_tasks_service_id_name")),
    )
    op.create_index(
        "ix_tasks_job_name",
        "tasks",
        ["name"],
        unique=True,
        sqlite_where=sa.text("service_id IS NULL"),
        postgresql_where=sa.text("service_id IS NULL"),
    )
    op.create_index("ix_tasks_overdue_at", "tasks", ["overdue_at"], unique=False)
    op.create_table(
        "task_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("rid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("exit_code", sa.SmallInteger(), nullable=True),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("log_truncated", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'success', 'error', 'cancelled', 'timeout', 'log')",
            name=op.f("ck_task_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_runs_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_runs")),
    )
    op.create_index("ix_task_runs_started_at", "task_runs", ["started_at"], unique=False)
    op.create_index(
        "ix_task_runs_status_deadline_at", "task_runs", ["status", "deadline_at"], unique=False
    )
    op.create_index("ix_task_runs_task_id_id", "task_runs", ["task_id", "id"], unique=False)
    op.create_index(
        "ix_task_runs_task_id_status_id", "task_runs", ["task_id", "status", "id"], unique=False
    )
    op.create_table(
        "task_status_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=10), nullable=False),
        sa.Column("to_status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_status_changes_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_status_changes")),
    )
    op.create_index(
        "ix_task_status_changes_changed_at", "task_status_changes", ["changed_at"], unique=False
    )
    op.create_index(
        "ix_task_status_changes_task_id_changed_at",
        "task_status_changes",
        ["task_id", "changed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_task_status_changes_task_id_changed_at", table_name="task_status_changes")
    op.drop_index("ix_task_status_changes_changed_at", table_name="task_status_changes")
    op.drop_table("task_status_changes")
    op.drop_index("ix_task_runs_task_id_status_id", table_name="task_runs")
    op.drop_index("ix_task_runs_task_id_id", table_name="task_runs")
    op.drop_index("ix_task_runs_status_deadline_at", table_name="task_runs")
    op.drop_index("ix_task_runs_started_at", table_name="task_runs")
    op.drop_table("task_runs")
    op.drop_index("ix_tasks_overdue_at", table_name="tasks")
    op.drop_index(
        "ix_tasks_job_name",
        table_name="tasks",
        sqlite_where=sa.text("service_id IS NULL"),
        postgresql_where=sa.text("service_id IS NULL"),
    )
    op.drop_table("tasks")
