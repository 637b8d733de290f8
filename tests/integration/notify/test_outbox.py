"""enqueue / resend_firing: routing, idempotency and re-send slots, on both databases."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.notify.channels_query import channel_choices, existing_channel_ids
from app.notify.models import OutboxEntry
from app.notify.outbox import enqueue, resend_firing, resend_key
from app.notify.payload import from_row
from tests.integration.notify.factories import T0, add_channel, notification


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxEntry]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


async def test_enqueue_writes_one_row_per_matching_enabled_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    every = await add_channel(sessions, name="every")
    critical = await add_channel(sessions, name="critical", severities=["critical"])
    await add_channel(sessions, name="warnings", severities=["warning"])
    await add_channel(sessions, name="off", enabled=False)

    async with sessions.begin() as session:
        written = await enqueue(session, notification())

    rows = await _rows(sessions)
    assert written == 2
    assert {r.channel_id for r in rows} == {every, critical}
    assert all(r.status == "pending" and r.attempts == 0 for r in rows)
    assert from_row(rows[0].payload) == notification()


async def test_enqueue_twice_writes_nothing_more(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_channel(sessions, name="hook")
    async with sessions.begin() as session:
        assert await enqueue(session, notification()) == 1
    async with sessions.begin() as session:
        assert await enqueue(session, notification()) == 0
    assert len(await _rows(sessions)) == 1


async def test_label_matchers_keep_only_matching_series(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop = await add_channel(
        sessions,
        name="shop team",
        label_matchers=[{"name": "service", "op": "=~", "value": "shop|cart"}],
    )
    await add_channel(
        sessions, name="api team", label_matchers=[{"name": "service", "op": "=", "value": "api"}]
    )
    sent = notification(labels=[{"service": "shop"}, {"service": "blog"}, {"service": "cart"}])

    async with sessions.begin() as session:
        assert await enqueue(session, sent) == 1

    (row,) = await _rows(sessions)
    assert row.channel_id == shop
    assert [s.labels["service"] for s in from_row(row.payload).series] == ["shop", "cart"]


async def test_channel_ids_limit_the_channels_and_unknown_ids_are_ignored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_channel(sessions, name="a")
    chosen = await add_channel(sessions, name="b")
    async with sessions.begin() as session:
        assert await enqueue(session, notification(), channel_ids=[chosen, 999]) == 1
    assert [r.channel_id for r in await _rows(sessions)] == [chosen]


async def test_resend_firing_goes_to_alertmanager_channels_once_per_slot(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_channel(sessions, name="hook")
    manager = await add_channel(
        sessions, name="am", kind="alertmanager", config={"url": "http://127.0.0.1:9"}
    )
    firing = notification()
    slot_start = T0  # 12:00:00 is a multiple of 60 s

    async with sessions.begin() as session:
        assert await enqueue(session, firing) == 2  # the transition itself: both channels
        assert await resend_firing(session, [firing], now=slot_start, interval_seconds=60) == 1
        later = slot_start + timedelta(seconds=59)
        assert await resend_firing(session, [firing], now=later, interval_seconds=60) == 0
        next_slot = slot_start + timedelta(seconds=60)
        assert await resend_firing(session, [firing], now=next_slot, interval_seconds=60) == 1

    rows = [r for r in await _rows(sessions) if r.idempotency_key != firing.idempotency_key]
    assert {r.channel_id for r in rows} == {manager}
    slot = int(slot_start.timestamp() // 60)
    assert [r.idempotency_key for r in rows] == [
        resend_key(firing.idempotency_key, slot),
        resend_key(firing.idempotency_key, slot + 1),
    ]


async def test_channel_choices_and_existing_ids(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    hook = await add_channel(sessions, name="b hook")
    manager = await add_channel(
        sessions, name="a manager", kind="alertmanager", config={"url": "http://127.0.0.1:9"}
    )
    async with sessions() as session:
        assert await channel_choices(session) == [
            (manager, "a manager", "alertmanager"),
            (hook, "b hook", "webhook"),
        ]
        assert await existing_channel_ids(session, [hook, 12345]) == {hook}
        assert await existing_channel_ids(session, []) == set()


async def test_resend_skips_alertmanager_channels_the_rule_never_notified(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    chosen = await add_channel(
        sessions, name="am chosen", kind="alertmanager", config={"url": "http://127.0.0.1:9"}
    )
    await add_channel(
        sessions, name="am other", kind="alertmanager", config={"url": "http://127.0.0.1:9"}
    )
    firing = notification()
    async with sessions.begin() as session:
        assert await enqueue(session, firing, channel_ids=[chosen]) == 1
        assert await resend_firing(session, [firing], now=T0, interval_seconds=60) == 1
        never = notification(rule_name="Other")
        assert (
            await resend_firing(
                session, [msgspec.structs.replace(never, rule_id=2)], now=T0, interval_seconds=60
            )
            == 0
        )

    assert {r.channel_id for r in await _rows(sessions)} == {chosen}
