"""The "send test" button: one notification sent at once, bypassing the outbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from app.notify import kinds
from app.notify.delivery import DeliveryError
from app.notify.messages import AlertNotification, AlertSeries
from app.notify.models import Channel

TEST_ALERT_MINUTES = 5
"""A test alert ends by itself (Alertmanager shows it this long)."""


def make_test_notification(
    channel: Channel, *, public_url: str, now: datetime
) -> AlertNotification:
    """A firing notification that says it is a test and ends in a few minutes."""
    return AlertNotification(
        idempotency_key=f"test-{channel.id}-{uuid.uuid4().hex[:12]}",
        rule_id=0,
        rule_name="VigilTestNotification",
        severity="info",
        status="firing",
        series=(
            AlertSeries(
                labels={"channel": channel.name, "test": "true"},
                annotations={
                    "summary": f"Test notification from Vigil to channel {channel.name!r}"
                },
                value=None,
                starts_at=now,
                ends_at=now + timedelta(minutes=TEST_ALERT_MINUTES),
            ),
        ),
        generator_url=f"{public_url.rstrip('/')}/admin/channels/{channel.id}",
        created_at=now,
    )


async def send_test(
    channel: Channel, *, public_url: str, now: datetime, timeout_seconds: float
) -> str | None:
    """Send a test notification now; None when delivered, else why not."""
    try:
        config = kinds.parse_config(channel.kind, channel.config)
    except kinds.ConfigProblem as exc:
        return f"the channel's config is not valid: {exc}"
    notification = make_test_notification(channel, public_url=public_url, now=now)
    try:
        async with asyncio.timeout(timeout_seconds + 1):
            await kinds.send(
                channel.kind,
                config,
                notification,
                key=notification.idempotency_key,
                timeout_seconds=timeout_seconds,
            )
    except DeliveryError as exc:
        return str(exc)
    except TimeoutError:
        return f"no answer within {timeout_seconds:g} s"
    return None
