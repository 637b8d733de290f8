"""Hourly check counts stay in step with the checks, and uptime read from them is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services import check_hours, queries
from app.services.checks import CheckResult
from app.services.models import Service, ServiceCheck, ServiceCheckHour
from app.services.queries import Uptime
from app.services.registry import ServiceFields, create_service
from app.services.transitions import record_check

NOW = datetime(2026, 11, 23, 12, 40, tzinfo=UTC)
HourRow = tuple[int, datetime, int, int]


async def _hours(
    sessions: async_sessionmaker[AsyncSession],
) -> list[tuple[int, datetime, int, int]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                ServiceCheckHour.service_id,
                ServiceCheckHour.hour,
                ServiceCheckHour.checks,
                ServiceCheckHour.ok,
            ).order_by(ServiceCheckHour.service_id, ServiceCheckHour.hour)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def test_recorded_checks_are_counted_per_hour_as_a_recount_finds_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = await create_service(
        sessions, ServiceFields(name="api", base_url="http://api.internal"), now=NOW
    )
    moments = [NOW - timedelta(minutes=m) for m in (0, 5, 39, 41, 100, 61 * 24)]
    for index, moment in enumerate(moments):
        async with sessions.begin() as session:
            row = await session.get(Service, service.id)
            assert row is not None
            result = CheckResult(checked_at=moment, ok=index % 3 != 0, latency_ms=5.0)
            await record_check(session, row, result)

    counted = await _hours(sessions)
    assert counted == [
        (service.id, datetime(2026, 11, 22, 12, tzinfo=UTC), 1, 1),
        (service.id, datetime(2026, 11, 23, 11, tzinfo=UTC), 2, 1),
        (service.id, datetime(2026, 11, 23, 12, tzinfo=UTC), 3, 2),
    ]
    async with sessions.begin() as session:
        await check_hours.recount(session)
    assert await _hours(sessions) == counted


async def test_uptime_windows_count_exactly_the_checks_inside_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = await create_service(
        sessions, ServiceFields(name="web", base_url="http://web.internal"), now=NOW
    )
    # Around each window's start (NOW - 24 h = 12:40 the day before): in and out by a minute,
    # and checks in the same hour as the start on both sides of it.
    edges = [NOW - window for window in queries.WINDOWS.values()]
    offsets = (-21, -1, 1, 19, 30)  # minutes; negative: before the window starts
    rows = [
        {"service_id": service.id, "checked_at": edge + timedelta(minutes=m), "ok": m % 2 == 1}
        for edge in edges
        for m in offsets
    ]
    rows += [{"service_id": service.id, "checked_at": NOW, "ok": True}]
    async with sessions.begin() as session:
        await session.execute(insert(ServiceCheck), rows)
        await check_hours.recount(session)

    health = (await queries.service_health(sessions, now=NOW))[service.id]

    def expected(since: datetime) -> Uptime:
        inside = [row for row in rows if row["checked_at"] >= since]
        return Uptime(checks=len(inside), ok=sum(bool(row["ok"]) for row in inside))

    for name, window in queries.WINDOWS.items():
        assert health.uptime[name] == expected(NOW - window), name
