"""RUM tables: the sites that send beacons (aggregates are added beside them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow


class Site(Base):
    """A website whose pages carry the beacon tag; ``key`` is public (it is in the tag)."""

    __tablename__ = "rum_sites"
    __table_args__ = (
        CheckConstraint("sample_rate > 0 AND sample_rate <= 1", name="sample_rate"),
        CheckConstraint("page_cap >= 1", name="page_cap"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Origins (``https://shop.example.com``) whose pages may send beacons."""
    sample_rate: Mapped[float] = mapped_column(Float, default=1.0)
    """Share of page views the beacon reports (read by the tag's data-sample)."""
    page_cap: Mapped[int] = mapped_column(Integer, default=500)
    """Distinct pages kept per day; the rest count as ``(other)``."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
