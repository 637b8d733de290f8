"""service check hours: checks and ok checks per service and UTC hour, backfilled

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Counts of the checks stored so far, grouped by the hour as each database stores
# app.db.base.UTCDateTime (SQLite: naive UTC text as SQLAlchemy formats it; PostgreSQL:
# timestamptz).
_BACKFILL = {
    "sqlite": (
        "INSERT INTO service_check_hours (service_id, hour, checks, ok) "
        "SELECT service_id, strftime('%Y-%m-%d %H:00:00.000000', checked_at), COUNT(*), "
        "SUM(CASE WHEN ok THEN 1 ELSE 0 END) FROM service_checks "
        "GROUP BY service_id, strftime('%Y-%m-%d %H:00:00.000000', checked_at)"
    ),
    "postgresql": (
        "INSERT INTO service_check_hours (service_id, hour, checks, ok) "
        "SELECT service_id, date_trunc('hour', checked_at), COUNT(*), "
        "SUM(CASE WHEN ok THEN 1 ELSE 0 END) FROM service_checks "
        "GROUP BY service_id, date_trunc('hour', checked_at)"
    ),
}


def upgrade() -> None:
    op.create_table(
        "service_check_hours",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("hour", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_check_hours_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_check_hours")),
        sa.UniqueConstraint(
            "service_id", "hour", name=op.f("uq_service_check_hours_service_id_hour")
        ),
    )
    op.create_index("ix_service_check_hours_hour", "service_check_hours", ["hour"], unique=False)
    op.execute(_BACKFILL[op.get_bind().dialect.name])


def downgrade() -> None:
    op.drop_index("ix_service_check_hours_hour", table_name="service_check_hours")
    op.drop_table("service_check_hours")
