"""Alertmanager channel against the real Debian ``prometheus-alertmanager`` binary."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import NotifySettings
from app.db.base import utcnow
from app.notify.channels import get_channel
from app.notify.dispatcher import Dispatcher
from app.notify.outbox import enqueue, resend_firing
from app.notify.probe import send_test
from tests.integration.notify.factories import add_channel, notification
from tests.integration.notify.receivers import RunningAlertmanager, alertmanager

SETTINGS = NotifySettings(timeout_seconds=5, max_attempts=3)


async def _wait_for(manager: RunningAlertmanager, predicate: object, *, seconds: float) -> list:
    deadline = time.monotonic() + seconds
    while True:
        alerts = await asyncio.to_thread(manager.alerts)
        if predicate(alerts):  # type: ignore[operator]
            return alerts
        assert time.monotonic() < deadline, f"alertmanager has {alerts}"
        await asyncio.sleep(0.2)


async def test_alert_fires_in_alertmanager_then_resolves(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    started = time.monotonic()
    with alertmanager(tmp_path) as manager:
        await add_channel(sessions, name="am", kind="alertmanager", config={"url": manager.url})
        dispatcher = Dispatcher(sessions, SETTINGS, holder="test")
        now = utcnow()
        firing = notification("am-1", created_at=now)
        async with sessions.begin() as session:
            await enqueue(session, firing)
        assert (await dispatcher.run()).sent == 1

        (alert,) = await _wait_for(manager, lambda alerts: len(alerts) == 1, seconds=10)
        assert alert["labels"] == {
            "alertname": "ServiceDown",
            "severity": "critical",
            "service": "shop",
        }
        assert alert["annotations"] == {"summary": "shop is down"}
        assert alert["status"]["state"] == "active"
        assert alert["generatorURL"] == "http://vigil.test/alerts/rules/1"
        assert alert["startsAt"].startswith("2026-11-23T12:00:00")

        # While it fires the engine calls resend_firing every tick: once per slot.
        async with sessions.begin() as session:
            assert await resend_firing(session, [firing], now=now, interval_seconds=60) == 1
            assert await resend_firing(session, [firing], now=now, interval_seconds=60) == 0
        assert (await dispatcher.run()).sent == 1

        # Still there after the re-send; resolving sets endsAt and Alertmanager drops it.
        assert len(await asyncio.to_thread(manager.alerts)) == 1
        async with sessions.begin() as session:
            await enqueue(session, notification("am-2", status="resolved", created_at=utcnow()))
        assert (await dispatcher.run()).sent == 1
        await _wait_for(manager, lambda alerts: alerts == [], seconds=15)
        everything = await asyncio.to_thread(manager.alerts, active="false")
        assert everything == []
    assert time.monotonic() - started < 40


async def test_send_test_shows_a_test_alert_in_alertmanager_that_ends_by_itself(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    with alertmanager(tmp_path) as manager:
        channel_id = await add_channel(
            sessions, name="am", kind="alertmanager", config={"url": manager.url}
        )
        channel = await get_channel(sessions, channel_id=channel_id)
        assert channel is not None
        now = utcnow()
        error = await send_test(channel, public_url="http://vigil.test", now=now, timeout_seconds=5)
        assert error is None

        (alert,) = await _wait_for(manager, lambda alerts: len(alerts) == 1, seconds=10)
    assert alert["labels"]["alertname"] == "VigilTestNotification"
    assert alert["labels"]["test"] == "true"
    assert alert["generatorURL"] == f"http://vigil.test/admin/channels/{channel_id}"
    assert alert["endsAt"].startswith((now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
