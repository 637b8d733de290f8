"""Retention of the outbox: sent and dead rows go after retention.days, pending ones never."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.notify.models import OutboxEntry
from app.notify.notifications import delete_expired
from app.notify.outbox import enqueue
from tests.integration.notify.factories import T0, add_channel, notification


async def test_old_sent_and_dead_rows_are_deleted_in_batches_pending_ones_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_channel(sessions, name="hook")
    async with sessions.begin() as session:
        for index in range(7):
            await enqueue(session, notification(f"k-{index}"))
        statuses = ["sent", "sent", "dead", "pending", "sending", "sent", "dead"]
        ages = [40, 31, 35, 90, 60, 5, 29]  # days before T0
        for index, (status, days) in enumerate(zip(statuses, ages, strict=True)):
            await session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.idempotency_key == f"k-{index}")
                .values(status=status, created_at=T0 - timedelta(days=days))
            )

    deleted = await delete_expired(sessions, now=T0, keep_days=30, batch_size=2)

    assert deleted == 3
    async with sessions() as session:
        kept = (await session.scalars(select(OutboxEntry.idempotency_key))).all()
    assert sorted(kept) == ["k-3", "k-4", "k-5", "k-6"]
