"""Retention: old aggregates are deleted in batches, recent ones kept, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.rum.aggregates import build_windows, delete_expired, write_deltas
from app.rum.models import PageWindow, SiteDaily, VitalsDaily, WindowBuild
from tests.integration.rum.test_aggregates import add_site, make_delta

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
Sessions = async_sessionmaker[AsyncSession]


async def test_retention_deletes_old_rows_in_batches_and_keeps_recent_ones(
    sessions: Sessions,
) -> None:
    sites = [await add_site(sessions, "Shop"), await add_site(sessions, "Blog")]
    for offset in range(40, -1, -1):
        day = TODAY - timedelta(days=offset)
        now = datetime.combine(day, NOW.time(), tzinfo=UTC)
        deltas = [
            make_delta(site_id, [100.0], day=day, page=f"/{page}")
            for site_id in sites
            for page in range(3)
        ]
        await write_deltas(sessions, deltas, now=now)
        await build_windows(sessions, now=now)

    engine = sessions.kw["bind"]
    deletes: list[str] = []

    def count_deletes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count_deletes)
    try:
        deleted = await delete_expired(sessions, now=NOW, keep_days=30, batch_size=4)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count_deletes)

    async with sessions() as session:
        daily_days = (
            await session.execute(select(func.min(VitalsDaily.day), func.max(VitalsDaily.day)))
        ).one()
        site_min = await session.scalar(select(func.min(SiteDaily.day)))
        window_ends = set(await session.scalars(select(PageWindow.window_end).distinct()))
        build_ends = set(await session.scalars(select(WindowBuild.window_end).distinct()))
        daily_left = await session.scalar(select(func.count()).select_from(VitalsDaily))
    cutoff = TODAY - timedelta(days=30)
    assert tuple(daily_days) == (cutoff, TODAY)  # today and the 30 days before it stay
    assert site_min == cutoff
    assert daily_left == 31 * 3 * 2
    assert window_ends == build_ends == {TODAY - timedelta(days=d) for d in range(3)}
    # 10 old days x 2 sites x 3 pages daily rows, 10 x 2 site rows, windows and builds
    assert deleted > 10 * 2 * 3 + 10 * 2
    # batches of 4: no statement deleted more, so there are at least deleted / 4 of them
    assert len(deletes) >= deleted / 4

    assert await delete_expired(sessions, now=NOW, keep_days=30, batch_size=4) == 0


async def test_retention_with_nothing_stored_deletes_nothing(sessions: Sessions) -> None:
    await add_site(sessions)
    assert await delete_expired(sessions, now=NOW, keep_days=30, batch_size=10_000) == 0
