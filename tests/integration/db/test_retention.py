"""Retention deletes exactly the expired rows, in batches, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.retention import (
    RetentionError,
    RetentionTarget,
    delete_all_expired,
    delete_expired_rows,
)
from app.services.models import Service, ServiceCheck, ServiceStateChange
from app.telemetry import VigilMetrics

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CHECKS = RetentionTarget(ServiceCheck.__table__, ServiceCheck.__table__.c.checked_at)
CHANGES = RetentionTarget(ServiceStateChange.__table__, ServiceStateChange.__table__.c.changed_at)


async def _seed(
    sessions: async_sessionmaker[AsyncSession], *, expired: int, kept: int, days: int = 30
) -> None:
    """``expired`` check rows older than ``days`` days (the oldest first) and ``kept`` newer."""
    async with sessions.begin() as session:
        service = Service(name="shop", base_url="http://shop", ping_token="t", next_check_at=NOW)
        session.add(service)
        await session.flush()
        cutoff = NOW - timedelta(days=days)
        rows = [
            {
                "service_id": service.id,
                "checked_at": cutoff - timedelta(minutes=i + 1),
                "ok": True,
            }
            for i in range(expired)
        ]
        rows += [
            {"service_id": service.id, "checked_at": cutoff + timedelta(minutes=i), "ok": False}
            for i in range(kept)  # the row exactly at the cutoff stays
        ]
        if rows:
            await session.execute(insert(ServiceCheck), rows)
        await session.execute(
            insert(ServiceStateChange),
            [
                {
                    "service_id": service.id,
                    "changed_at": cutoff - timedelta(days=1),
                    "from_state": "pending",
                    "to_state": "up",
                    "reason": "old",
                },
                {
                    "service_id": service.id,
                    "changed_at": cutoff + timedelta(days=1),
                    "from_state": "up",
                    "to_state": "down",
                    "reason": "recent",
                },
            ],
        )


async def _remaining(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, datetime]:
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(ServiceCheck))
        ok = await session.scalar(select(func.count()).where(ServiceCheck.ok.is_(True)))
        oldest = await session.scalar(select(func.min(ServiceCheck.checked_at)))
    assert count is not None
    assert ok is not None
    assert oldest is not None
    return count, ok, oldest


async def test_deletes_exactly_the_expired_rows_in_batches(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions, expired=250, kept=40)
    registry = CollectorRegistry()

    deleted = await delete_expired_rows(
        sessions,
        CHECKS,
        cutoff=NOW - timedelta(days=30),
        batch_size=100,
        metrics=VigilMetrics(registry),
    )

    assert deleted == 250
    count, ok, oldest = await _remaining(sessions)
    assert (count, ok) == (40, 0)  # every expired row (ok=True) gone, every kept one there
    assert oldest == NOW - timedelta(days=30)
    labels = {"table": "service_checks"}
    assert registry.get_sample_value("vigil_retention_rows_deleted_total", labels) == 250
    # 100 + 100 + 50: the short batch says there is nothing left
    assert registry.get_sample_value("vigil_retention_batch_duration_seconds_count", labels) == 3


async def test_a_second_run_deletes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _seed(sessions, expired=20, kept=5)
    cutoff = NOW - timedelta(days=30)
    assert await delete_expired_rows(sessions, CHECKS, cutoff=cutoff, batch_size=10) == 20
    assert await delete_expired_rows(sessions, CHECKS, cutoff=cutoff, batch_size=10) == 0
    assert (await _remaining(sessions))[0] == 5


async def test_every_target_is_purged_by_retention_days(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions, expired=7, kept=3, days=10)
    deleted = await delete_all_expired(
        sessions, [CHECKS, CHANGES], now=NOW, keep_days=10, batch_size=1000
    )
    assert deleted == {"service_checks": 7, "service_state_changes": 1}
    async with sessions() as session:
        reasons = list(await session.scalars(select(ServiceStateChange.reason)))
    assert reasons == ["recent"]


def test_a_target_needs_a_table_with_one_key_column() -> None:
    with pytest.raises(TypeError):
        RetentionTarget(select(ServiceCheck.id).subquery(), ServiceCheck.__table__.c.checked_at)


async def test_naive_cutoff_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await delete_expired_rows(sessions, CHECKS, cutoff=datetime(2026, 1, 1), batch_size=10)


async def test_a_failing_table_does_not_stop_the_others(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions, expired=4, kept=1)
    from sqlalchemy import Column, DateTime, Integer, MetaData, Table

    missing = Table(
        "no_such_table",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", DateTime(timezone=True)),
    )
    with pytest.raises(RetentionError, match="no_such_table"):
        await delete_all_expired(
            sessions,
            [RetentionTarget(missing, missing.c.at), CHECKS],
            now=NOW,
            keep_days=30,
            batch_size=100,
        )
    assert (await _remaining(sessions))[0] == 1


async def test_expired_rows_among_newer_ones_all_go(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Keys and times need not agree (backfilled rows): batches still take every expired row."""
    await _seed(sessions, expired=0, kept=0)
    cutoff = NOW - timedelta(days=30)
    async with sessions.begin() as session:
        service_id = await session.scalar(select(Service.id))
        await session.execute(
            insert(ServiceCheck),
            [
                {
                    "service_id": service_id,
                    "checked_at": cutoff + timedelta(hours=1 if i % 3 == 0 else -1),
                    "ok": i % 3 != 0,
                }
                for i in range(95)
            ],
        )
    deleted = await delete_expired_rows(sessions, CHECKS, cutoff=cutoff, batch_size=7)
    assert deleted == 63
    count, ok, _ = await _remaining(sessions)
    assert (count, ok) == (32, 0)
