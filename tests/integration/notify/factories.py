"""Notifications and channel rows for the notify tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.notify.messages import AlertNotification, AlertSeries, AlertStatus
from app.notify.models import Channel

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def series(labels: dict[str, str] | None = None, *, ends_at: datetime | None = None) -> AlertSeries:
    return AlertSeries(
        labels=labels or {"service": "shop"},
        annotations={"summary": "shop is down"},
        value=1.0,
        starts_at=T0,
        ends_at=ends_at,
    )


def notification(
    key: str = "rule-1-t0",
    *,
    severity: str = "critical",
    status: AlertStatus = "firing",
    labels: list[dict[str, str]] | None = None,
    created_at: datetime = T0,
    rule_name: str = "ServiceDown",
) -> AlertNotification:
    return AlertNotification(
        idempotency_key=key,
        rule_id=1,
        rule_name=rule_name,
        severity=severity,
        status=status,
        series=tuple(
            series(item, ends_at=created_at if status == "resolved" else None)
            for item in (labels or [{"service": "shop"}])
        ),
        generator_url="http://vigil.test/alerts/rules/1",
        created_at=created_at,
    )


async def add_channel(
    sessions: async_sessionmaker[AsyncSession],
    *,
    name: str,
    kind: str = "webhook",
    config: dict[str, Any] | None = None,
    enabled: bool = True,
    severities: list[str] | None = None,
    label_matchers: list[dict[str, str]] | None = None,
) -> int:
    async with sessions.begin() as session:
        channel = Channel(
            name=name,
            kind=kind,
            config=config or {"url": "http://127.0.0.1:9/hook", "secret": "s" * 32},
            enabled=enabled,
            severities=severities or [],
            label_matchers=label_matchers or [],
        )
        session.add(channel)
        await session.flush()
        return channel.id
