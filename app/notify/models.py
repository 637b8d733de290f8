"""Notify tables: the channels notifications go to and the outbox the dispatcher drains.

An outbox row is one notification for one channel. The alert engine writes it in the
transaction that stores the transition; the dispatcher claims due rows with a
compare-and-set ``UPDATE`` (``status`` and ``next_attempt_at`` re-checked), so each row is
sent by one replica at a time. Claiming moves ``next_attempt_at`` to the end of the claim:
a replica killed mid-send leaves a ``sending`` row that becomes due again by the same index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow

ChannelKind = Literal["webhook", "slack", "email", "alertmanager"]
CHANNEL_KINDS: tuple[ChannelKind, ...] = ("webhook", "slack", "email", "alertmanager")
OutboxStatus = Literal["pending", "sending", "sent", "dead"]
OUTBOX_STATUSES: tuple[OutboxStatus, ...] = ("pending", "sending", "sent", "dead")

# SQLite's INTEGER PRIMARY KEY is its 64-bit rowid; PostgreSQL gets a BIGINT identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Channel(Base):
    """Where notifications go: a kind, its typed config (JSON) and its routing.

    ``config`` holds the kind's config struct (``app.notify.kinds``), secrets included;
    they are masked whenever a channel is shown. Routing: ``severities`` (empty: all) and
    ``label_matchers`` (``{"name", "op", "value"}``; every one must match a series).
    """

    __tablename__ = "notify_channels"
    __table_args__ = (CheckConstraint(f"kind IN {CHANNEL_KINDS}", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    severities: Mapped[list[str]] = mapped_column(JSON, default=list)
    label_matchers: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxEntry(Base):
    """One notification for one channel, from ``pending`` to ``sent`` or ``dead``."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key", "channel_id"),
        CheckConstraint(f"status IN {OUTBOX_STATUSES}", name="status"),
        Index("ix_notify_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notify_outbox_channel_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notify_channels.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[int] = mapped_column(Integer)
    """The alert rule (no foreign key across domains); shown in the notifications view."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The ``AlertNotification`` as msgspec builtins (``app.notify.payload``)."""
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When it is due: the next try of a pending row, the claim's end of a sending one."""
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
