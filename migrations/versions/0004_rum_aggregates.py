"""rum aggregates: daily rows per page and per site, page windows, window builds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKETS = 100  # app.rum.histogram.BUCKETS when this revision was written; never import it


def _site_id(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["rum_sites.id"],
            name=op.f(f"fk_{table}_site_id_rum_sites"),
            ondelete="CASCADE",
        ),
    ]


def _counters() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("good", sa.Integer(), nullable=False),
        sa.Column("ni", sa.Integer(), nullable=False),
        sa.Column("poor", sa.Integer(), nullable=False),
        sa.Column("value_sum", sa.Float(), nullable=False),
        *(
            sa.Column(f"b{index}", sa.Integer(), server_default="0", nullable=False)
            for index in range(BUCKETS)
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "rum_vitals_daily",
        *_site_id("rum_vitals_daily"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("page", sa.String(length=300), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("metric", sa.String(length=4), nullable=False),
        *_counters(),
        sa.PrimaryKeyConstraint(
            "site_id", "day", "page", "device", "metric", name=op.f("pk_rum_vitals_daily")
        ),
    )
    op.create_table(
        "rum_site_daily",
        *_site_id("rum_site_daily"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("metric", sa.String(length=4), nullable=False),
        *_counters(),
        sa.PrimaryKeyConstraint(
            "site_id", "day", "device", "metric", name=op.f("pk_rum_site_daily")
        ),
    )
    op.create_table(
        "rum_page_windows",
        *_site_id("rum_page_windows"),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("range_days", sa.SmallInteger(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("page", sa.String(length=300), nullable=False),
        sa.Column("metric", sa.String(length=4), nullable=False),
        *_counters(),
        sa.CheckConstraint("range_days IN (1, 7, 30)", name=op.f("ck_rum_page_windows_range_days")),
        sa.PrimaryKeyConstraint(
            "site_id",
            "window_end",
            "range_days",
            "device",
            "page",
            "metric",
            name=op.f("pk_rum_page_windows"),
        ),
    )
    op.create_table(
        "rum_window_builds",
        *_site_id("rum_window_builds"),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("built_at", app.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "window_end", name=op.f("pk_rum_window_builds")),
    )


def downgrade() -> None:
    op.drop_table("rum_window_builds")
    op.drop_table("rum_page_windows")
    op.drop_table("rum_site_daily")
    op.drop_table("rum_vitals_daily")
