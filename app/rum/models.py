"""RUM tables: the sites that send beacons and the Web Vitals aggregates of their pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow
from app.rum.histogram import BUCKETS


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


# --------------------------------------------------------------------------- aggregates
#
# Web Vitals are stored only as additive aggregates: counts per rating and the fixed
# histogram of ``app.rum.histogram`` as columns ``b0..b99``, so two writers merge rows with
# ``ON CONFLICT DO UPDATE SET n = n + excluded.n, b0 = b0 + excluded.b0, ...`` on SQLite and
# PostgreSQL alike. See docs/rum.md, "Storage".

BUCKET_COLUMNS: tuple[str, ...] = tuple(f"b{index}" for index in range(BUCKETS))
"""Names of the histogram columns, bucket 0 first."""
COUNTER_COLUMNS: tuple[str, ...] = ("n", "good", "ni", "poor", "value_sum", *BUCKET_COLUMNS)
"""Every column an upsert adds to: samples, samples per rating, sum of values, buckets."""
WINDOW_RANGES: tuple[int, ...] = (1, 7, 30)
"""Ranges (days, ending on ``window_end``) that ``rum_page_windows`` keeps per page."""
ALL_DEVICES = "all"
"""The ``device`` of window rows that count every device class."""


def _site_column() -> Column[int]:
    return Column(
        "site_id",
        Integer,
        ForeignKey("rum_sites.id", ondelete="CASCADE"),
        primary_key=True,
    )


def _counter_columns() -> list[Column[Any]]:
    return [
        Column("n", Integer, nullable=False),
        Column("good", Integer, nullable=False),
        Column("ni", Integer, nullable=False),
        Column("poor", Integer, nullable=False),
        Column("value_sum", Float, nullable=False),
        *(Column(name, Integer, nullable=False, server_default="0") for name in BUCKET_COLUMNS),
    ]


class VitalsDaily(Base):
    """One day of one metric on one page and device class of a site."""

    __table__ = Table(
        "rum_vitals_daily",
        Base.metadata,
        _site_column(),
        Column("day", Date, primary_key=True),
        Column("page", String(300), primary_key=True),
        Column("device", String(8), primary_key=True),
        Column("metric", String(4), primary_key=True),
        *_counter_columns(),
    )

    site_id: Mapped[int]
    day: Mapped[date]
    page: Mapped[str]
    device: Mapped[str]
    metric: Mapped[str]
    n: Mapped[int]
    good: Mapped[int]
    ni: Mapped[int]
    poor: Mapped[int]
    value_sum: Mapped[float]


class SiteDaily(Base):
    """One day of one metric on one device class of a site, every page together."""

    __table__ = Table(
        "rum_site_daily",
        Base.metadata,
        _site_column(),
        Column("day", Date, primary_key=True),
        Column("device", String(8), primary_key=True),
        Column("metric", String(4), primary_key=True),
        *_counter_columns(),
    )

    site_id: Mapped[int]
    day: Mapped[date]
    device: Mapped[str]
    metric: Mapped[str]
    n: Mapped[int]
    good: Mapped[int]
    ni: Mapped[int]
    poor: Mapped[int]
    value_sum: Mapped[float]


class PageWindow(Base):
    """A page's totals over the ``range_days`` days ending on ``window_end`` (inclusive).

    Kept incrementally: every flush adds its deltas, and the window build job adds the
    earlier days once per ``(site, window_end)``; ``device`` is a class or ``"all"``, and
    comes before ``page`` in the key so one table of the page is one key range.
    """

    __table__ = Table(
        "rum_page_windows",
        Base.metadata,
        _site_column(),
        Column("window_end", Date, primary_key=True),
        Column("range_days", SmallInteger, primary_key=True),
        Column("device", String(8), primary_key=True),
        Column("page", String(300), primary_key=True),
        Column("metric", String(4), primary_key=True),
        *_counter_columns(),
        CheckConstraint("range_days IN (1, 7, 30)", name="range_days"),
    )

    site_id: Mapped[int]
    window_end: Mapped[date]
    range_days: Mapped[int]
    device: Mapped[str]
    page: Mapped[str]
    metric: Mapped[str]
    n: Mapped[int]
    good: Mapped[int]
    ni: Mapped[int]
    poor: Mapped[int]
    value_sum: Mapped[float]


class WindowBuild(Base):
    """A claimed build of a site's page windows ending on ``window_end``: at most one each."""

    __tablename__ = "rum_window_builds"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("rum_sites.id", ondelete="CASCADE"), primary_key=True
    )
    window_end: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
