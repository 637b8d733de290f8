"""Alertmanager channel: ``POST /api/v2/alerts``, one alert per series.

Labels are the series' labels plus ``alertname`` (the rule) and ``severity``. A firing
alert carries no ``endsAt``: Alertmanager keeps it for its ``resolve_timeout``, so Vigil
re-sends firing alerts (``notify.alertmanager_resend_seconds``); a resolved one carries
``endsAt`` and Alertmanager resolves it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import msgspec

from app.notify.delivery import post
from app.notify.fields import check_http_url
from app.notify.messages import AlertNotification
from app.notify.routing import series_labels

ALERTS_PATH = "/api/v2/alerts"


class AlertmanagerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Alertmanager's base URL (``http://alertmanager:9093``) and an optional bearer token."""

    url: Annotated[str, msgspec.Meta(max_length=2000)]
    bearer_token: Annotated[str, msgspec.Meta(max_length=500)] = ""

    secret_fields: ClassVar[tuple[str, ...]] = ("bearer_token",)

    def __post_init__(self) -> None:
        check_http_url("url", self.url)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alerts(notification: AlertNotification) -> list[dict[str, Any]]:
    """The request body: Alertmanager's postable alerts."""
    body = []
    for series in notification.series:
        alert: dict[str, Any] = {
            "labels": series_labels(notification, series),
            "annotations": dict(series.annotations),
            "startsAt": _timestamp(series.starts_at),
            "generatorURL": notification.generator_url,
        }
        if series.ends_at is not None:  # resolved, or a test alert that ends by itself
            alert["endsAt"] = _timestamp(series.ends_at)
        elif notification.status == "resolved":
            alert["endsAt"] = _timestamp(notification.created_at)
        body.append(alert)
    return body


async def send(
    config: AlertmanagerConfig, notification: AlertNotification, *, key: str, timeout_seconds: float
) -> None:
    """POST the alerts; raises DeliveryError. Alertmanager de-duplicates by labels."""
    del key
    headers = {"Content-Type": "application/json"}
    if config.bearer_token:
        headers["Authorization"] = f"Bearer {config.bearer_token}"
    await post(
        config.url.rstrip("/") + ALERTS_PATH,
        content=msgspec.json.encode(alerts(notification)),
        headers=headers,
        timeout_seconds=timeout_seconds,
    )
