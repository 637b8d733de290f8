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
from tests.support.server import free_port

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


async def test_alertmanager_down_then_back_gets_every_alert_once(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Alertmanager is not running yet: every round fails and backs off, nothing is lost or
    given up; once it listens on its address every alert arrives, each once."""
    port = free_port()
    await add_channel(
        sessions, name="am", kind="alertmanager", config={"url": f"http://127.0.0.1:{port}"}
    )
    settings = NotifySettings(timeout_seconds=2, max_attempts=50, backoff_base_seconds=0.05)
    dispatcher = Dispatcher(sessions, settings, holder="test")
    services = [f"svc-{i}" for i in range(4)]
    async with sessions.begin() as session:
        for service in services:
            await enqueue(session, notification(f"am-{service}", labels=[{"service": service}]))

    failed_rounds = 0
    outage_ends = time.monotonic() + 2
    while time.monotonic() < outage_ends:
        outcome = await dispatcher.run()
        assert outcome.sent == 0
        failed_rounds += outcome.retried > 0
        await asyncio.sleep(0.1)
    assert failed_rounds >= 3

    with alertmanager(tmp_path, port=port) as manager:
        deadline = time.monotonic() + 20
        sent = 0
        while sent < len(services):
            assert time.monotonic() < deadline, f"{sent} of {len(services)} sent"
            sent += (await dispatcher.run()).sent
            await asyncio.sleep(0.1)
        alerts = await _wait_for(manager, lambda alerts: len(alerts) == len(services), seconds=10)
        for _ in range(3):  # nothing left to send twice
            assert (await dispatcher.run()).sent == 0
    assert sorted(a["labels"]["service"] for a in alerts) == services


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
