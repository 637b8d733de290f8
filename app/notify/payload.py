"""How an ``AlertNotification`` is stored in an outbox row and read back."""

from __future__ import annotations

from typing import Any

import msgspec

from app.notify.messages import AlertNotification


def to_row(notification: AlertNotification) -> dict[str, Any]:
    """JSON-ready builtins (datetimes as RFC 3339 strings)."""
    data: dict[str, Any] = msgspec.to_builtins(notification)
    return data


def from_row(data: dict[str, Any]) -> AlertNotification:
    """The notification an outbox row holds."""
    return msgspec.convert(data, AlertNotification)
