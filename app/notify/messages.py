"""What the alert engine hands to the outbox: one notification per rule group and transition.

This is the contract between ``app.alerts`` (which decides *what* to say and *when*) and
``app.notify`` (which decides *where* and delivers it). Channels render it in their own
format; the outbox stores it as JSON (``msgspec``), so every field is a plain value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

AlertStatus = Literal["firing", "resolved"]


class AlertSeries(msgspec.Struct, frozen=True, kw_only=True):
    """One alert series of a rule: its labels (rule labels included) and rendered annotations."""

    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    starts_at: datetime
    ends_at: datetime | None = None
    """Set when the series resolved."""


class AlertNotification(msgspec.Struct, frozen=True, kw_only=True):
    """A rule's series that changed state in one evaluation (or are repeated while firing).

    ``idempotency_key`` is unique per notification: the outbox stores it once per channel,
    and channels that can pass it on (webhook header, Alertmanager label-free) do so.
    """

    idempotency_key: str
    rule_id: int
    rule_name: str
    severity: str
    status: AlertStatus
    series: tuple[AlertSeries, ...]
    generator_url: str
    """Link back to the rule's page in Vigil."""
    created_at: datetime
    repeat: bool = False
    """True for a reminder of series still firing (repeat interval), not a transition."""
