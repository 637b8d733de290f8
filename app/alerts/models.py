"""Alert tables: rules, the persisted state of each rule's series, their history, silences
and maintenance windows."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow
from app.services.models import RowId

SIGNALS: Final = (
    "web_vital_p75",
    "service_down",
    "service_latency_p95",
    "task_failed",
    "task_overdue",
    "scraped_metric",
    "promql",
)
COMPARISONS: Final = (">", ">=", "<", "<=", "==", "!=")
SEVERITIES: Final = ("critical", "warning", "info")
NO_DATA_POLICIES: Final = ("ok", "alerting", "keep")
HEALTH: Final = ("unknown", "ok", "error")
SERIES_STATES: Final = ("inactive", "pending", "firing")
TRANSITION_STATES: Final = ("inactive", "pending", "firing", "resolved")
"""``resolved`` is the ``to_state`` of a firing series that stops firing (it is then inactive)."""
WINDOW_KINDS: Final = ("once", "weekly")


class AlertRule(Base):
    """A rule: a signal with its parameters, a comparison against a threshold, and what to
    do when it holds (``for``, ``keep_firing_for``, severity, labels, annotations, channels).

    ``health``, ``last_error`` and ``last_evaluated_*`` are written by the evaluator only.
    """

    __tablename__ = "alert_rules"
    __table_args__ = (
        CheckConstraint(f"signal IN {SIGNALS}", name="signal"),
        CheckConstraint(f"comparison IN {COMPARISONS}", name="comparison"),
        CheckConstraint(f"severity IN {SEVERITIES}", name="severity"),
        CheckConstraint(f"no_data IN {NO_DATA_POLICIES}", name="no_data"),
        CheckConstraint(f"health IN {HEALTH}", name="health"),
        CheckConstraint("for_seconds >= 0", name="for_seconds"),
        CheckConstraint("keep_firing_for_seconds >= 0", name="keep_firing_for_seconds"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    signal: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Per-signal parameters, validated by the signal's Struct (``app.alerts.signals``)."""
    comparison: Mapped[str] = mapped_column(String(2), default=">")
    threshold: Mapped[float] = mapped_column(Float, default=0.0)
    for_seconds: Mapped[int] = mapped_column(Integer, default=0)
    """How long the condition must hold before pending becomes firing."""
    keep_firing_for_seconds: Mapped[int] = mapped_column(Integer, default=0)
    """How long a firing series keeps firing after the condition stopped holding."""
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    """Templates: ``{{ $value }}``, ``{{ $labels.name }}`` (see ``app.alerts.templates``)."""
    no_data: Mapped[str] = mapped_column(String(10), default="ok")
    """When the signal has no series at all: ``ok`` (resolve), ``alerting`` (one series
    with no value that holds), ``keep`` (leave every series as it is)."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    channel_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    """Notify channels (``notify_channels.id``); empty: routing decides."""
    health: Mapped[str] = mapped_column(String(10), default="unknown")
    last_error: Mapped[str | None] = mapped_column(String(1000), default=None)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(default=None)
    last_evaluation_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertSeries(Base):
    """The persisted state of one series of a rule (one row per rule and fingerprint).

    ``last_notified_at`` is set when a firing notification was enqueued and cleared when
    the series resolves: a firing series without it is still owed its notification (it
    was silenced or in maintenance), and a resolve is notified only if firing was.
    """

    __tablename__ = "alert_series"
    __table_args__ = (
        UniqueConstraint("rule_id", "fingerprint"),
        CheckConstraint(f"state IN {SERIES_STATES}", name="state"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(32))
    """Hash of the series' signal labels (``app.alerts.states.fingerprint``)."""
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="inactive")
    value: Mapped[float | None] = mapped_column(Float, default=None)
    active_since: Mapped[datetime | None] = mapped_column(default=None)
    """Since when the condition holds (pending or firing)."""
    firing_since: Mapped[datetime | None] = mapped_column(default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    """Last evaluation in which the condition held (for ``keep_firing_for``)."""
    last_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    """When it last went back to inactive; None while pending or firing. Inactive series
    are deleted ``retention.days`` after this."""


class AlertTransition(Base):
    """One state change of a series; kept ``retention.days``."""

    __tablename__ = "alert_transitions"
    __table_args__ = (
        Index("ix_alert_transitions_rule_id_at", "rule_id", "at"),
        Index("ix_alert_transitions_at", "at"),
        CheckConstraint(f"from_state IN {TRANSITION_STATES}", name="from_state"),
        CheckConstraint(f"to_state IN {TRANSITION_STATES}", name="to_state"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(32))
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    from_state: Mapped[str] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    value: Mapped[float | None] = mapped_column(Float, default=None)
    at: Mapped[datetime]


class AlertSilence(Base):
    """Notifications of series whose labels match every matcher are held back from
    ``starts_at`` to ``ends_at``; evaluation goes on."""

    __tablename__ = "alert_silences"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_alert_silences_ends_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matchers: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """``[{"name": "severity", "op": "=~", "value": "crit.*"}, ...]`` (``app.alerts.silences``)."""
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(String(500), default="")
    author: Mapped[str] = mapped_column(String(254), default="")
    """E-mail of the user who created it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MaintenanceWindow(Base):
    """A period without notifications for one service (``service_id``) or all (NULL).

    ``once``: from ``starts_at`` to ``ends_at``. ``weekly``: every ``weekday`` (0 = Monday)
    at ``start_time`` in ``timezone`` for ``duration_minutes``.
    """

    __tablename__ = "maintenance_windows"
    __table_args__ = (
        CheckConstraint(f"kind IN {WINDOW_KINDS}", name="kind"),
        CheckConstraint(
            "kind != 'once' OR (starts_at IS NOT NULL AND ends_at IS NOT NULL"
            " AND ends_at > starts_at)",
            name="once_bounds",
        ),
        CheckConstraint(
            "kind != 'weekly' OR (weekday BETWEEN 0 AND 6 AND start_time IS NOT NULL"
            " AND duration_minutes > 0 AND timezone IS NOT NULL)",
            name="weekly_fields",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    weekday: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    start_time: Mapped[time | None] = mapped_column(Time, default=None)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    """IANA name, e.g. ``Europe/Berlin``."""
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
