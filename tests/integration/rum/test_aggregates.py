"""write_deltas: additive upserts into the daily, site and window tables, on both databases."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.rum.aggregates import write_deltas
from app.rum.deltas import VitalsDelta
from app.rum.histogram import BUCKETS
from app.rum.models import BUCKET_COLUMNS, PageWindow, Site, SiteDaily, VitalsDaily
from app.rum.queries import site_summary

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TODAY = NOW.date()

Sessions = async_sessionmaker[AsyncSession]


async def add_site(sessions: Sessions, name: str = "Shop") -> int:
    async with sessions.begin() as session:
        site = Site(name=name, key=name.lower()[:16].ljust(16, "k"), allowed_origins=[])
        session.add(site)
        await session.flush()
        return site.id


def make_delta(
    site_id: int,
    values: list[float],
    *,
    day: date = TODAY,
    page: str = "/",
    device: str = "mobile",
    metric: str = "LCP",
) -> VitalsDelta:
    delta = VitalsDelta.empty(site_id=site_id, day=day, page=page, device=device, metric=metric)
    for value in values:
        delta.count(value)
    return delta


def buckets_of(row: object) -> list[int]:
    return [getattr(row, name) for name in BUCKET_COLUMNS]


async def test_two_writes_of_the_same_key_add_up_including_buckets(sessions: Sessions) -> None:
    site_id = await add_site(sessions)
    await write_deltas(sessions, [make_delta(site_id, [1000.0, 3000.0])], now=NOW)
    await write_deltas(sessions, [make_delta(site_id, [1000.0, 5000.0, 5000.0])], now=NOW)

    async with sessions() as session:
        daily = (await session.execute(select(VitalsDaily.__table__))).one()
        site = (await session.execute(select(SiteDaily.__table__))).one()
        windows = (await session.execute(select(PageWindow.__table__))).all()
    expected = make_delta(site_id, [1000.0, 3000.0, 1000.0, 5000.0, 5000.0])
    for row in (daily, site, *windows):
        assert (row.n, row.good, row.ni, row.poor) == (5, 2, 1, 2)
        assert row.value_sum == pytest.approx(15_000.0)
        assert buckets_of(row) == expected.buckets
    # one window per range (1, 7, 30), for the device and for "all"
    assert sorted((w.range_days, w.device) for w in windows) == [
        (1, "all"),
        (1, "mobile"),
        (7, "all"),
        (7, "mobile"),
        (30, "all"),
        (30, "mobile"),
    ]
    assert {w.window_end for w in windows} == {TODAY}


async def test_one_flush_merges_pages_into_the_site_row_and_devices_into_all(
    sessions: Sessions,
) -> None:
    site_id = await add_site(sessions)
    await write_deltas(
        sessions,
        [
            make_delta(site_id, [100.0], page="/a", device="mobile"),
            make_delta(site_id, [200.0], page="/b", device="mobile"),
            make_delta(site_id, [300.0], page="/a", device="desktop"),
        ],
        now=NOW,
    )
    async with sessions() as session:
        daily = (await session.execute(select(VitalsDaily.__table__))).all()
        site = (await session.execute(select(SiteDaily.__table__))).all()
        all_a = (
            await session.execute(
                select(PageWindow.__table__).where(
                    PageWindow.page == "/a", PageWindow.device == "all", PageWindow.range_days == 7
                )
            )
        ).one()
    assert len(daily) == 3
    assert sorted((row.device, row.n) for row in site) == [("desktop", 1), ("mobile", 2)]
    assert all_a.n == 2
    assert all_a.value_sum == pytest.approx(400.0)


async def test_p75_from_stored_buckets_is_within_5_percent_of_exact(sessions: Sessions) -> None:
    site_id = await add_site(sessions)
    rng = random.Random(7)
    values = {
        "LCP": [rng.lognormvariate(math.log(2200), 0.6) for _ in range(4000)],
        "INP": [rng.lognormvariate(math.log(150), 0.9) for _ in range(4000)],
        "CLS": [rng.lognormvariate(math.log(0.05), 1.0) for _ in range(4000)],
        "FCP": [rng.uniform(300, 4000) for _ in range(4000)],
        "TTFB": [rng.expovariate(1 / 500) + 20 for _ in range(4000)],
    }
    devices = ("mobile", "tablet", "desktop", "unknown")
    # several flushes, pages and devices: the p75 comes from buckets summed across rows
    for chunk in range(4):
        deltas = []
        for metric, sample in values.items():
            part = sample[chunk * 1000 : (chunk + 1) * 1000]
            for index, device in enumerate(devices):
                deltas.append(
                    make_delta(
                        site_id,
                        part[index::4],
                        metric=metric,
                        device=device,
                        page=f"/p{chunk}",
                        day=TODAY - timedelta(days=chunk),
                    )
                )
        await write_deltas(sessions, deltas, now=NOW)

    summary = await site_summary(sessions, site_id=site_id, range_days=7, device="all", today=TODAY)
    for card in summary.metrics:
        ordered = sorted(values[card.metric])
        exact = ordered[math.ceil(0.75 * len(ordered)) - 1]
        assert card.n == 4000
        assert card.p75 is not None
        assert abs(card.p75 - exact) / exact <= 0.05, (card.metric, card.p75, exact)
        assert card.good + card.ni + card.poor == pytest.approx(1.0)


async def test_deltas_of_a_deleted_site_are_dropped_and_the_rest_written(
    sessions: Sessions,
) -> None:
    kept = await add_site(sessions, "Kept")
    gone = await add_site(sessions, "Gone")
    async with sessions.begin() as session:
        await session.execute(delete(Site).where(Site.id == gone))
    await write_deltas(sessions, [make_delta(kept, [100.0]), make_delta(gone, [100.0])], now=NOW)
    async with sessions() as session:
        rows = (await session.execute(select(VitalsDaily.site_id))).scalars().all()
    assert rows == [kept]


async def test_write_needs_a_timezone_aware_now(sessions: Sessions) -> None:
    site_id = await add_site(sessions)
    with pytest.raises(ValueError, match="timezone-aware"):
        await write_deltas(sessions, [make_delta(site_id, [1.0])], now=NOW.replace(tzinfo=None))


async def test_nothing_to_write_is_a_no_op(sessions: Sessions) -> None:
    await write_deltas(sessions, [], now=NOW)
    async with sessions() as session:
        assert (await session.execute(select(VitalsDaily.site_id))).first() is None
    assert len(BUCKET_COLUMNS) == BUCKETS
