"""The outbox as people see it: undelivered notifications, retrying dead ones, retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.notify.models import Channel, OutboxEntry

UNDELIVERED = ("pending", "sending", "dead")


@dataclass(frozen=True, slots=True)
class Undelivered:
    """An outbox row not sent (yet), with its channel's name and kind."""

    id: int
    status: str
    channel_id: int
    channel_name: str
    channel_kind: str
    rule_id: int
    rule_name: str
    alert_status: str
    idempotency_key: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime


async def list_undelivered(
    sessions: async_sessionmaker[AsyncSession], *, limit: int = 200
) -> list[Undelivered]:
    """Pending, sending and dead rows, newest first."""
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxEntry, Channel.name, Channel.kind)
            .join(Channel, Channel.id == OutboxEntry.channel_id)
            .where(OutboxEntry.status.in_(UNDELIVERED))
            .order_by(OutboxEntry.created_at.desc(), OutboxEntry.id.desc())
            .limit(limit)
        )
        return [
            Undelivered(
                id=entry.id,
                status=entry.status,
                channel_id=entry.channel_id,
                channel_name=name,
                channel_kind=kind,
                rule_id=entry.rule_id,
                rule_name=str(entry.payload.get("rule_name", "")),
                alert_status=str(entry.payload.get("status", "")),
                idempotency_key=entry.idempotency_key,
                attempts=entry.attempts,
                next_attempt_at=entry.next_attempt_at,
                last_error=entry.last_error,
                created_at=entry.created_at,
            )
            for entry, name, kind in rows
        ]


async def count_by_status(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Rows per status (every status present, zero when none)."""
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)
        )
        counts = {status: 0 for status in ("pending", "sending", "sent", "dead")}
        counts.update({status: count for status, count in rows})
        return counts


async def retry_dead(
    sessions: async_sessionmaker[AsyncSession], *, entry_id: int, now: datetime
) -> bool:
    """Give a dead row a fresh set of attempts, due now; False if it is not dead."""
    async with sessions.begin() as session:
        result = await session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def delete_expired(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, keep_days: int, batch_size: int
) -> int:
    """Delete sent and dead rows older than ``keep_days``, ``batch_size`` at a time."""
    cutoff = now - timedelta(days=keep_days)
    deleted = 0
    while True:
        async with sessions.begin() as session:
            ids = (
                await session.scalars(
                    select(OutboxEntry.id)
                    .where(
                        OutboxEntry.status.in_(("sent", "dead")), OutboxEntry.created_at < cutoff
                    )
                    .limit(batch_size)
                )
            ).all()
            if not ids:
                return deleted
            await session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_(ids)))
            deleted += len(ids)
