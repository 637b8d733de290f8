"""Page windows: after a build each window equals the sum of its days' daily rows."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import DatabaseSettings
from app.db.engine import create_engine, create_session_factory
from app.rum import aggregates
from app.rum.aggregates import build_windows, write_deltas
from app.rum.deltas import DEVICES, VitalsDelta
from app.rum.histogram import METRICS
from app.rum.models import COUNTER_COLUMNS, PageWindow, VitalsDaily, WindowBuild
from tests.integration.rum.test_aggregates import add_site, make_delta

NOW = datetime(2026, 11, 20, 0, 0, 30, tzinfo=UTC)
TODAY = NOW.date()
Sessions = async_sessionmaker[AsyncSession]
Sums = dict[tuple[str, str, str], list[float]]


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def random_deltas(rng: random.Random, site_id: int, day: date, count: int) -> list[VitalsDelta]:
    pages = [f"/p{index}" for index in range(6)]
    return [
        make_delta(
            site_id,
            [rng.lognormvariate(6, 1.2) for _ in range(rng.randint(1, 4))],
            day=day,
            page=rng.choice(pages),
            device=rng.choice(DEVICES),
            metric=rng.choice(METRICS),
        )
        for _ in range(count)
    ]


async def daily_sums(sessions: Sessions, site_id: int, first: date, last: date) -> Sums:
    """Reference: (page, device | all, metric) -> counters summed over the daily rows."""
    table = VitalsDaily.__table__
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    table.c.page, table.c.device, table.c.metric, *table.c[COUNTER_COLUMNS]
                ).where(table.c.site_id == site_id, table.c.day >= first, table.c.day <= last)
            )
        ).all()
    sums: Sums = defaultdict(lambda: [0] * len(COUNTER_COLUMNS))
    for page, device, metric, *counters in rows:
        for key in ((page, device, metric), (page, "all", metric)):
            sums[key] = [a + b for a, b in zip(sums[key], counters, strict=True)]
    return dict(sums)


async def window_sums(sessions: Sessions, site_id: int, window_end: date, range_days: int) -> Sums:
    table = PageWindow.__table__
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    table.c.page, table.c.device, table.c.metric, *table.c[COUNTER_COLUMNS]
                ).where(
                    table.c.site_id == site_id,
                    table.c.window_end == window_end,
                    table.c.range_days == range_days,
                )
            )
        ).all()
    return {(page, device, metric): list(counters) for page, device, metric, *counters in rows}


def assert_same(windows: Sums, daily: Sums) -> None:
    assert windows.keys() == daily.keys()
    for key, counters in daily.items():
        got = windows[key]
        assert got[:4] == counters[:4], key
        assert got[4] == pytest.approx(counters[4]), key
        assert got[5:] == counters[5:], key


async def test_windows_equal_the_sum_of_daily_rows_after_a_build(sessions: Sessions) -> None:
    rng = random.Random(2026)
    sites = [await add_site(sessions, "Shop"), await add_site(sessions, "Blog")]
    # 35 days of history, each day flushed on its own day (its windows are never built)
    for offset in range(35, 0, -1):
        day = TODAY - timedelta(days=offset)
        for site_id in sites:
            await write_deltas(sessions, random_deltas(rng, site_id, day, 25), now=at_noon(day))
    # just after midnight: late deltas for yesterday and today's first deltas, before the build
    yesterday = TODAY - timedelta(days=1)
    for site_id in sites:
        await write_deltas(
            sessions,
            random_deltas(rng, site_id, yesterday, 10) + random_deltas(rng, site_id, TODAY, 10),
            now=NOW,
        )
    assert sorted(await build_windows(sessions, now=NOW)) == sorted(sites)
    # after the build: more of today, and more late deltas for yesterday and two days ago
    for site_id in sites:
        await write_deltas(
            sessions,
            random_deltas(rng, site_id, TODAY, 10)
            + random_deltas(rng, site_id, yesterday, 10)
            + random_deltas(rng, site_id, TODAY - timedelta(days=2), 5),
            now=NOW + timedelta(minutes=5),
        )

    for site_id in sites:
        for range_days in (1, 7, 30):
            first = TODAY - timedelta(days=range_days - 1)
            assert_same(
                await window_sums(sessions, site_id, TODAY, range_days),
                await daily_sums(sessions, site_id, first, TODAY),
            )


async def test_a_late_delta_after_the_build_is_counted_once_in_todays_windows(
    sessions: Sessions,
) -> None:
    site_id = await add_site(sessions)
    yesterday = TODAY - timedelta(days=1)
    await write_deltas(sessions, [make_delta(site_id, [100.0], day=yesterday)], now=NOW)
    await build_windows(sessions, now=NOW)
    await write_deltas(sessions, [make_delta(site_id, [200.0], day=yesterday)], now=NOW)

    week = await window_sums(sessions, site_id, TODAY, 7)
    assert week[("/", "all", "LCP")][0] == 2
    one_day = await window_sums(sessions, site_id, TODAY, 1)
    assert one_day == {}  # yesterday is not in today's one-day window
    yesterdays = await window_sums(sessions, site_id, yesterday, 1)
    assert yesterdays[("/", "all", "LCP")][0] == 2


async def test_build_runs_once_when_called_twice(sessions: Sessions) -> None:
    site_id = await add_site(sessions)
    await write_deltas(
        sessions, [make_delta(site_id, [100.0], day=TODAY - timedelta(days=3))], now=NOW
    )
    assert await build_windows(sessions, now=NOW) == [site_id]
    assert await build_windows(sessions, now=NOW + timedelta(minutes=1)) == []

    assert (await window_sums(sessions, site_id, TODAY, 7))[("/", "all", "LCP")][0] == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WindowBuild)) == 1


async def test_concurrent_builds_from_two_replicas_build_once(db_url: str) -> None:
    engines = [create_engine(DatabaseSettings(url=db_url)) for _ in range(2)]
    replicas = [create_session_factory(engine) for engine in engines]
    try:
        site_id = await add_site(replicas[0])
        await write_deltas(
            replicas[0],
            [make_delta(site_id, [100.0], day=TODAY - timedelta(days=d)) for d in range(1, 8)],
            now=NOW,
        )
        results: list[Any] = await asyncio.gather(
            *(build_windows(sessions, now=NOW) for sessions in replicas)
        )
        assert sorted(results) == [[], [site_id]]
        week = await window_sums(replicas[0], site_id, TODAY, 7)
        assert week[("/", "all", "LCP")][0] == 6
        month = await window_sums(replicas[0], site_id, TODAY, 30)
        assert month[("/", "mobile", "LCP")][0] == 7
    finally:
        for engine in engines:
            await engine.dispose()


async def test_concurrent_late_flushes_and_build_count_every_delta_once(db_url: str) -> None:
    engines = [create_engine(DatabaseSettings(url=db_url)) for _ in range(3)]
    replicas = [create_session_factory(engine) for engine in engines]
    yesterday = TODAY - timedelta(days=1)
    try:
        site_id = await add_site(replicas[0])
        for day in range(1, 30):
            await write_deltas(
                replicas[0],
                [
                    make_delta(
                        site_id, [100.0], day=TODAY - timedelta(days=day), page=f"/{i or ''}"
                    )
                    for i in range(20)
                ],
                now=NOW,
            )

        async def flush_late(sessions: Sessions) -> None:
            for _ in range(10):
                await write_deltas(sessions, [make_delta(site_id, [50.0], day=yesterday)], now=NOW)

        await asyncio.gather(
            build_windows(replicas[0], now=NOW), flush_late(replicas[1]), flush_late(replicas[2])
        )
        for range_days in (7, 30):
            first = TODAY - timedelta(days=range_days - 1)
            assert_same(
                await window_sums(replicas[0], site_id, TODAY, range_days),
                await daily_sums(replicas[0], site_id, first, TODAY),
            )
        week = await window_sums(replicas[0], site_id, TODAY, 7)
        assert week[("/", "all", "LCP")][0] == 6 + 20  # 6 earlier days, 20 late flushes
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_late_delta_between_the_read_and_the_write_is_counted_once(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build reads the daily sums before its write transaction; a flush in between makes
    it read the changed days again, and the delta lands in the windows exactly once."""
    rng = random.Random(11)
    site_id = await add_site(sessions)
    for offset in range(30, 0, -1):
        day = TODAY - timedelta(days=offset)
        await write_deltas(sessions, random_deltas(rng, site_id, day, 20), now=at_noon(day))
    writes = []
    claim_and_write = aggregates._claim_and_write

    async def flush_first(*args: Any, **kwargs: Any) -> bool | None:
        writes.append(kwargs["read_inside"])
        if len(writes) == 1:  # after the first read, before its write transaction
            late = [make_delta(site_id, [50.0], day=TODAY - timedelta(days=d)) for d in (1, 20)]
            await write_deltas(sessions, late, now=NOW)
        return await claim_and_write(*args, **kwargs)

    monkeypatch.setattr(aggregates, "_claim_and_write", flush_first)
    assert await build_windows(sessions, now=NOW) == [site_id]

    assert writes == [False, False]  # the first write saw the change and rolled back
    for range_days in (7, 30):
        assert_same(
            await window_sums(sessions, site_id, TODAY, range_days),
            await daily_sums(sessions, site_id, TODAY - timedelta(days=range_days - 1), TODAY),
        )
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WindowBuild)) == 1


async def test_a_build_that_keeps_seeing_late_deltas_reads_them_in_its_transaction(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(12)
    site_id = await add_site(sessions)
    for offset in range(8, 0, -1):
        day = TODAY - timedelta(days=offset)
        await write_deltas(sessions, random_deltas(rng, site_id, day, 20), now=at_noon(day))
    writes = []
    claim_and_write = aggregates._claim_and_write

    async def flush_every_time(*args: Any, **kwargs: Any) -> bool | None:
        writes.append(kwargs["read_inside"])
        yesterday = TODAY - timedelta(days=1)
        await write_deltas(sessions, random_deltas(rng, site_id, yesterday, 3), now=NOW)
        return await claim_and_write(*args, **kwargs)

    monkeypatch.setattr(aggregates, "_claim_and_write", flush_every_time)
    assert await build_windows(sessions, now=NOW) == [site_id]

    assert writes == [False] * aggregates.OPTIMISTIC_ATTEMPTS + [True]
    for range_days in (7, 30):
        assert_same(
            await window_sums(sessions, site_id, TODAY, range_days),
            await daily_sums(sessions, site_id, TODAY - timedelta(days=range_days - 1), TODAY),
        )


async def test_a_build_claimed_elsewhere_after_the_read_writes_nothing(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_id = await add_site(sessions)
    await write_deltas(
        sessions, [make_delta(site_id, [100.0], day=TODAY - timedelta(days=2))], now=NOW
    )
    claim_and_write = aggregates._claim_and_write

    async def other_replica_first(*args: Any, **kwargs: Any) -> bool | None:
        assert await claim_and_write(*args, **kwargs)  # the other replica's build
        return await claim_and_write(*args, **kwargs)

    monkeypatch.setattr(aggregates, "_claim_and_write", other_replica_first)
    assert await build_windows(sessions, now=NOW) == []
    assert (await window_sums(sessions, site_id, TODAY, 7))[("/", "all", "LCP")][0] == 1
