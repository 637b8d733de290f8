"""Web Vitals page queries on both databases: shapes, filters, sort orders, empty sites."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.rum.aggregates import build_windows, write_deltas
from app.rum.histogram import METRICS
from app.rum.queries import daily_trend, pages_table, site_summary
from tests.integration.rum.test_aggregates import add_site, make_delta

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
Sessions = async_sessionmaker[AsyncSession]


def noon(day: date) -> datetime:
    return datetime.combine(day, NOW.time(), tzinfo=UTC)


async def seed(sessions: Sessions) -> int:
    """/slow: 2 mobile views a day (LCP 5 s); /fast: 5 desktop views a day (LCP 1 s), no INP."""
    site_id = await add_site(sessions)
    for offset in range(10, -1, -1):
        day = TODAY - timedelta(days=offset)
        deltas = []
        for metric in METRICS:
            slow = {"LCP": 5000.0, "INP": 600.0, "CLS": 0.3, "FCP": 3500.0, "TTFB": 2000.0}
            deltas.append(
                make_delta(site_id, [slow[metric]] * 2, day=day, page="/slow", metric=metric)
            )
            if metric != "INP":
                fast = {"LCP": 1000.0, "CLS": 0.01, "FCP": 800.0, "TTFB": 100.0}
                deltas.append(
                    make_delta(
                        site_id,
                        [fast[metric]] * 5,
                        day=day,
                        page="/fast",
                        device="desktop",
                        metric=metric,
                    )
                )
        await write_deltas(sessions, deltas, now=noon(day))
        await build_windows(sessions, now=noon(day))
    return site_id


async def test_site_summary_has_every_metric_with_p75_rating_and_shares(
    sessions: Sessions,
) -> None:
    site_id = await seed(sessions)
    summary = await site_summary(sessions, site_id=site_id, range_days=7, device="all", today=TODAY)
    assert [m.metric for m in summary.metrics] == list(METRICS)
    assert (summary.first_day, summary.last_day) == (TODAY - timedelta(days=6), TODAY)
    lcp = summary.metrics[0]
    assert lcp.n == 7 * 7
    assert lcp.p75 is not None
    assert abs(lcp.p75 - 5000) / 5000 <= 0.05  # 2 of 7 views are slow: p75 is a slow one
    assert lcp.rating == "poor"
    assert lcp.good == pytest.approx(5 / 7)
    assert lcp.poor == pytest.approx(2 / 7)
    assert lcp.ni == 0

    mobile = await site_summary(
        sessions, site_id=site_id, range_days=1, device="desktop", today=TODAY
    )
    assert mobile.metrics[0].n == 5
    assert mobile.metrics[0].rating == "good"
    assert mobile.metrics[1].n == 0  # no INP on desktop
    assert mobile.metrics[1].p75 is None
    assert mobile.metrics[1].rating is None


async def test_daily_trend_has_a_point_per_day(sessions: Sessions) -> None:
    site_id = await seed(sessions)
    trend = await daily_trend(
        sessions, site_id=site_id, range_days=30, device="mobile", today=TODAY
    )
    lcp = trend.metrics[0]
    assert len(lcp.points) == 30
    assert [p.day for p in lcp.points] == [TODAY - timedelta(days=d) for d in range(29, -1, -1)]
    assert all(p.p75 is None and p.n == 0 for p in lcp.points[:19])  # before the data
    assert all(p.n == 2 and p.p75 is not None for p in lcp.points[19:])


async def test_pages_table_sorts_by_views_or_worst_p75(sessions: Sessions) -> None:
    site_id = await seed(sessions)
    by_views = await pages_table(sessions, site_id=site_id, range_days=7, device="all", today=TODAY)
    assert by_views.as_of == TODAY
    assert [row.page for row in by_views.rows] == ["/fast", "/slow"]
    assert [row.views for row in by_views.rows] == [35, 14]
    assert set(by_views.rows[0].metrics) == set(METRICS)
    assert by_views.rows[0].metrics["INP"].n == 0
    assert by_views.rows[0].metrics["INP"].p75 is None

    by_lcp = await pages_table(
        sessions, site_id=site_id, range_days=30, device="all", today=TODAY, sort="LCP"
    )
    assert [row.page for row in by_lcp.rows] == ["/slow", "/fast"]
    assert by_lcp.rows[0].metrics["LCP"].rating == "poor"
    assert by_lcp.rows[0].views == 22  # 11 days of data in the 30-day range

    by_inp = await pages_table(
        sessions, site_id=site_id, range_days=7, device="all", today=TODAY, sort="INP", limit=1
    )
    assert [row.page for row in by_inp.rows] == ["/slow"]  # pages without INP sort last
    assert by_inp.total_pages == 2

    desktop = await pages_table(
        sessions, site_id=site_id, range_days=1, device="desktop", today=TODAY
    )
    assert [(row.page, row.views) for row in desktop.rows] == [("/fast", 5)]


async def test_pages_table_reads_yesterdays_windows_until_todays_build(
    sessions: Sessions,
) -> None:
    site_id = await seed(sessions)
    tomorrow = TODAY + timedelta(days=1)
    await write_deltas(
        sessions, [make_delta(site_id, [900.0], day=tomorrow, page="/new")], now=noon(tomorrow)
    )

    before = await pages_table(
        sessions, site_id=site_id, range_days=7, device="all", today=tomorrow
    )
    assert before.as_of == TODAY
    assert "/new" not in [row.page for row in before.rows]

    await build_windows(sessions, now=noon(tomorrow))
    after = await pages_table(sessions, site_id=site_id, range_days=7, device="all", today=tomorrow)
    assert after.as_of == tomorrow
    assert [row.page for row in after.rows] == ["/fast", "/slow", "/new"]


async def test_pages_table_without_any_build_sums_daily_rows(sessions: Sessions) -> None:
    site_id = await add_site(sessions)
    await write_deltas(
        sessions,
        [make_delta(site_id, [1000.0], day=TODAY - timedelta(days=d)) for d in range(3)],
        now=NOW,
    )
    table = await pages_table(sessions, site_id=site_id, range_days=7, device="all", today=TODAY)
    assert table.as_of == TODAY
    assert [(row.page, row.views) for row in table.rows] == [("/", 3)]


async def test_empty_site_gives_empty_results(sessions: Sessions) -> None:
    site_id = await add_site(sessions)
    summary = await site_summary(
        sessions, site_id=site_id, range_days=30, device="all", today=TODAY
    )
    assert summary.empty
    assert all(m.n == 0 and m.p75 is None for m in summary.metrics)
    trend = await daily_trend(sessions, site_id=site_id, range_days=7, device="all", today=TODAY)
    assert all(p.p75 is None for m in trend.metrics for p in m.points)
    for range_days in (1, 7, 30):
        table = await pages_table(
            sessions, site_id=site_id, range_days=range_days, device="all", today=TODAY
        )
        assert table.rows == []
        assert table.total_pages == 0


async def test_bad_range_device_or_sort_is_a_value_error(sessions: Sessions) -> None:
    site_id = await add_site(sessions)
    with pytest.raises(ValueError, match="range_days"):
        await site_summary(sessions, site_id=site_id, range_days=14, device="all", today=TODAY)
    with pytest.raises(ValueError, match="device"):
        await daily_trend(sessions, site_id=site_id, range_days=7, device="watch", today=TODAY)
    with pytest.raises(ValueError, match="sort"):
        await pages_table(
            sessions, site_id=site_id, range_days=7, device="all", today=TODAY, sort="name"
        )
