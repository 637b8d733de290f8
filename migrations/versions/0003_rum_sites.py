"""rum sites

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rum_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("sample_rate", sa.Float(), nullable=False),
        sa.Column("page_cap", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("page_cap >= 1", name=op.f("ck_rum_sites_page_cap")),
        sa.CheckConstraint(
            "sample_rate > 0 AND sample_rate <= 1", name=op.f("ck_rum_sites_sample_rate")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rum_sites")),
        sa.UniqueConstraint("key", name=op.f("uq_rum_sites_key")),
        sa.UniqueConstraint("name", name=op.f("uq_rum_sites_name")),
    )


def downgrade() -> None:
    op.drop_table("rum_sites")
