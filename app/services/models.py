"""Service tables: the registry, every health-check result and every state change."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow

ServiceState = Literal["pending", "up", "down", "paused"]
SERVICE_STATES: tuple[ServiceState, ...] = ("pending", "up", "down", "paused")

# SQLite's INTEGER PRIMARY KEY is its 64-bit rowid; PostgreSQL gets a BIGINT identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Service(Base):
    """A service registered once: Vigil checks its health URL and scrapes its metrics.

    ``ping_token`` is the secret part of its tasks' ping URLs (``/ping/{token}/{task}``);
    like a Healthchecks.io ping URL it is a capability, shown to admins and re-generable.
    """

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("interval_seconds >= 10", name="interval_seconds"),
        CheckConstraint("timeout_seconds > 0", name="timeout_seconds"),
        CheckConstraint("expected_status BETWEEN 100 AND 599", name="expected_status"),
        CheckConstraint("failure_threshold >= 1", name="failure_threshold"),
        CheckConstraint("success_threshold >= 1", name="success_threshold"),
        CheckConstraint(f"state IN {SERVICE_STATES}", name="state"),
        Index("ix_services_enabled_next_check_at", "enabled", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))
    """``http(s)://host[:port][/prefix]``; health and metrics paths are joined to it."""
    health_path: Mapped[str] = mapped_column(String(200), default="/healthz")
    expected_status: Mapped[int] = mapped_column(SmallInteger, default=200)
    metrics_path: Mapped[str | None] = mapped_column(String(200), default=None)
    """Prometheus text endpoint, e.g. ``/metrics``; None: not scraped, not in HTTP SD."""
    interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=5.0)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    ping_token: Mapped[str] = mapped_column(String(64), unique=True)
    failure_threshold: Mapped[int] = mapped_column(SmallInteger, default=3)
    """Consecutive failed checks that turn the service ``down``."""
    success_threshold: Mapped[int] = mapped_column(SmallInteger, default=1)
    """Consecutive good checks that turn it ``up``."""

    state: Mapped[str] = mapped_column(String(10), default="pending")
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    last_check_at: Mapped[datetime | None] = mapped_column(default=None)
    next_check_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the leader checks it next (due checks are read by this column)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ServiceCheck(Base):
    """One health-check result; kept ``retention.days``."""

    __tablename__ = "service_checks"
    __table_args__ = (
        Index("ix_service_checks_service_id_checked_at", "service_id", "checked_at"),
        Index("ix_service_checks_checked_at", "checked_at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    latency_ms: Mapped[float | None] = mapped_column(Float, default=None)
    """Time to the response's headers; None when no response came."""
    error: Mapped[str | None] = mapped_column(String(40), default=None)
    """Error class: ``timeout``, ``connect``, ``status``, ``tls``, ``refused_address``, ..."""
    detail: Mapped[str | None] = mapped_column(String(300), default=None)
    """A short human-readable explanation of a failure."""


class ServiceStateChange(Base):
    """A service's move from one state to another, with the reason; kept ``retention.days``."""

    __tablename__ = "service_state_changes"
    __table_args__ = (
        Index("ix_service_state_changes_service_id_changed_at", "service_id", "changed_at"),
        Index("ix_service_state_changes_changed_at", "changed_at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime]
    from_state: Mapped[str] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(300), default="")


class ServiceCheckHour(Base):
    """Checks of one service in one UTC hour, counted as they are stored.

    Uptime over 7 or 30 days sums at most 720 of these per service instead of reading
    43,200 check rows (one a minute); see ``app/services/queries.py``. Kept
    ``retention.days`` like the checks they count.
    """

    __tablename__ = "service_check_hours"
    __table_args__ = (
        UniqueConstraint("service_id", "hour"),
        Index("ix_service_check_hours_hour", "hour"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    """A one-column key, as the batched retention deletes walk it."""
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    hour: Mapped[datetime]
    """Start of the hour (UTC, minutes and seconds zero)."""
    checks: Mapped[int] = mapped_column(Integer)
    ok: Mapped[int] = mapped_column(Integer)
