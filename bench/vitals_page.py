"""Web Vitals page: server time with 30 days x 500 pages x 5 metrics x 4 devices stored.

    .venv/bin/python -m bench.vitals_page [--db sqlite|postgresql|both] [--loads 50]

Seeds one site through the real write path (``write_deltas`` one flush per day, the window
build for today with another engine flushing meanwhile, retention pruning the old windows),
then times, per range (24 h / 7 d / 30 d): the page's three query functions together, and
the real ``GET /vitals`` page through the ASGI app (logged in, template rendered). Figures go
to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import DatabaseSettings
from app.db import migrate
from app.db.base import utcnow
from app.db.engine import create_engine, create_session_factory
from app.rum import queries
from app.rum.aggregates import build_windows, delete_expired, write_deltas
from app.rum.deltas import DEVICES
from app.rum.models import PageWindow, Site, SiteDaily, VitalsDaily
from bench._harness import markdown_table, progress
from bench._in_process import (
    in_process_parser,
    p95,
    report_header,
    run_on_databases,
    signed_in_client,
)
from bench._seed import day_deltas

RANGE_NAMES = {1: "24 h", 7: "7 d", 30: "30 d"}

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class BuildTiming:
    seconds: float
    """Today's build, from the call to its return."""
    lock_seconds: list[float]
    """Each write transaction of the build (lock or claim to commit / rollback)."""
    flushes: int
    flush_max_seconds: float
    """Longest of the flushes of today's deltas that a second engine ran meanwhile."""


@dataclass
class Seeded:
    site_id: int
    daily_rows: int
    site_rows: int
    window_rows: int
    write_seconds: float
    rows_written: int
    build: BuildTiming
    retention_seconds: float
    retention_deleted: int


async def timed_build(sessions: Sessions, url: str, *, site_id: int, now: datetime) -> BuildTiming:
    """Today's window build while a second engine flushes one of today's deltas every 20 ms
    (the accumulators of other replicas), timing the build's write transactions."""
    engine = sessions.kw["bind"].sync_engine
    spans: list[float] = []
    opened: list[float] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        lock = "FOR NO KEY UPDATE" in statement or "INSERT INTO rum_window_builds" in statement
        if lock and not opened:
            opened.append(time.perf_counter())

    def on_end(_conn: Any) -> None:
        if opened:
            spans.append(time.perf_counter() - opened.pop())

    other = create_engine(DatabaseSettings(url=url))
    flusher = create_session_factory(other)
    waits: list[float] = []
    building = True

    async def flush_meanwhile() -> None:
        rng = random.Random(7)
        while building:
            delta = day_deltas(rng, site_id, now.date(), ["/"])[0]
            started = time.perf_counter()
            await write_deltas(flusher, [delta], now=now)
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    events: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", on_statement),
        ("commit", on_end),
        ("rollback", on_end),
    ]
    for name, listener in events:
        event.listen(engine, name, listener)
    flushing = asyncio.create_task(flush_meanwhile())
    try:
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        built = await build_windows(sessions, now=now)
        seconds = time.perf_counter() - started
        assert built == [site_id], built
    finally:
        building = False
        await flushing
        for name, listener in events:
            event.remove(engine, name, listener)
        await other.dispose()
    return BuildTiming(seconds, spans, len(waits), max(waits, default=0.0))


async def seed(sessions: Sessions, url: str, *, days: int, pages: int, today: date) -> Seeded:
    async with sessions.begin() as session:
        site = Site(name="Bench", key=secrets.token_hex(8), allowed_origins=[])
        session.add(site)
        await session.flush()
        site_id = site.id
    rng = random.Random(42)
    page_names = ["/"] + [f"/section-{i % 17}/page-{i}" for i in range(1, pages)]
    write_seconds = 0.0
    rows_written = 0
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        now = datetime.combine(day, day_time(12), tzinfo=UTC)
        deltas = day_deltas(rng, site_id, day, page_names)
        if day == today:
            build = await timed_build(sessions, url, site_id=site_id, now=now)
        started = time.perf_counter()
        await write_deltas(sessions, deltas, now=now)
        write_seconds += time.perf_counter() - started
        rows_written += len(deltas) * (1 + 3 * 2)  # daily + window rows before merging
        if offset % 10 == 0:
            progress(f"seeded day {days - offset}/{days}")
    started = time.perf_counter()
    deleted = await delete_expired(sessions, now=utcnow(), keep_days=30, batch_size=10_000)
    retention_seconds = time.perf_counter() - started
    async with sessions() as session:
        counts = [
            int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (VitalsDaily, SiteDaily, PageWindow)
        ]
    return Seeded(
        site_id=site_id,
        daily_rows=counts[0],
        site_rows=counts[1],
        window_rows=counts[2],
        write_seconds=write_seconds,
        rows_written=rows_written,
        build=build,
        retention_seconds=retention_seconds,
        retention_deleted=deleted,
    )


async def time_loads(call: Callable[[], Awaitable[object]], loads: int) -> list[float]:
    for _ in range(3):
        await call()
    timings = []
    for _ in range(loads):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def measure(url: str, args: argparse.Namespace) -> tuple[Seeded, list[list[Any]]]:
    days, pages, loads = args.days, args.pages, args.loads
    engine = create_engine(DatabaseSettings(url=url))
    await migrate.upgrade(engine)
    sessions = create_session_factory(engine)
    today = utcnow().date()
    seeded = await seed(sessions, url, days=days, pages=pages, today=today)
    site_id = seeded.site_id
    rows: list[list[Any]] = []

    def page_queries(range_days: int, device: str, sort: str) -> Callable[[], Awaitable[object]]:
        async def run() -> object:
            await queries.site_summary(
                sessions, site_id=site_id, range_days=range_days, device=device, today=today
            )
            await queries.daily_trend(
                sessions, site_id=site_id, range_days=range_days, device=device, today=today
            )
            return await queries.pages_table(
                sessions,
                site_id=site_id,
                range_days=range_days,
                device=device,
                today=today,
                sort=sort,
                limit=100,
            )

        return run

    variants = [(r, "all", "views") for r in (1, 7, 30)] + [(30, "mobile", "LCP")]
    for range_days, device, sort in variants:
        table = await page_queries(range_days, device, sort)()
        assert isinstance(table, queries.PagesTable)
        assert table.total_pages == pages, table.total_pages
        timings = await time_loads(page_queries(range_days, device, sort), loads)
        rows.append(["queries", range_days, device, sort, timings])
        progress(f"queries {RANGE_NAMES[range_days]} {device} {sort}: p95 {p95(timings):.1f} ms")

    async with signed_in_client(url, role="viewer") as client:
        for range_days, device, sort in variants:
            path = f"/vitals?site={site_id}&range={range_days}&device={device}&sort={sort}"

            async def get(path: str = path) -> object:
                response = await client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code}")
                return response

            timings = await time_loads(get, loads)
            rows.append(["GET /vitals", range_days, device, sort, timings])
            progress(f"page {path}: p95 {p95(timings):.1f} ms")
    await engine.dispose()
    return seeded, rows


def report(args: argparse.Namespace, results: dict[str, tuple[Seeded, list[list[Any]]]]) -> str:
    table_rows = []
    for database, (_seeded, rows) in results.items():
        for what, range_days, device, sort, timings in rows:
            table_rows.append(
                [
                    database,
                    what,
                    f"{RANGE_NAMES[range_days]}, {device}, sort {sort}",
                    f"{statistics.median(timings):.1f}",
                    f"**{p95(timings):.1f}**",
                    f"{max(timings):.1f}",
                ]
            )
    storage_rows = [
        [
            database,
            f"{s.daily_rows:,}",
            f"{s.site_rows:,}",
            f"{s.window_rows:,}",
            f"{s.rows_written / s.write_seconds:,.0f}",
            f"{s.build.seconds:.2f}",
            f"{max(s.build.lock_seconds):.2f} ({len(s.build.lock_seconds)})",
            f"{s.build.flush_max_seconds:.2f} ({s.build.flushes})",
            f"{s.retention_deleted:,} in {s.retention_seconds:.1f} s",
        ]
        for database, (s, _rows) in results.items()
    ]
    sqlite_p95 = [
        p95(timings)
        for what, range_days, device, sort, timings in results.get("sqlite", (None, []))[1]
        if what == "GET /vitals"
    ]
    worst = max(sqlite_p95, default=0.0)
    verdict = (
        "Goal: p95 server time of the page ≤ 150 ms on SQLite — "
        f"**{'met' if worst <= 150 else 'NOT met'}** "
        f"(slowest GET /vitals line: p95 {worst:.1f} ms)."
        if sqlite_p95
        else ""
    )
    header = report_header("sqlalchemy", "aiosqlite", "asyncpg", "litestar")
    timing_table = markdown_table(
        ["database", "what", "range, device, sort", "p50", "p95", "max"], table_rows, "lllrrr"
    )
    storage_table = markdown_table(
        [
            "database",
            "rum_vitals_daily",
            "rum_site_daily",
            "rum_page_windows",
            "write_deltas rows/s",
            "window build s",
            "build write transaction s",
            "longest flush meanwhile s",
            "retention deleted",
        ],
        storage_rows,
        "lrrrrrrrl",
    )
    return f"""## Web Vitals page

{header}

Data: one site, {args.days} days x {args.pages} pages x 5 metrics x {len(DEVICES)} device classes
({", ".join(DEVICES)}), 5-25 samples per row, written through `write_deltas` (one flush per
day), today's window build, then retention (which prunes the windows of past days). Timed
{args.loads} loads per line after 3 warm-up loads, in one process, no server: *queries* is
`site_summary` + `daily_trend` + `pages_table(limit=100)` awaited in turn; *GET /vitals* is the
real page through the ASGI app (Litestar test client, logged in, auth + template + the same
queries). Milliseconds.

{timing_table}

{verdict}

Storage after seeding (the pages table ranks pages from one narrow `rum_page_windows` row per
page and metric, then reads the 106-column rows of the pages shown only):

{storage_table}

*write_deltas rows/s* counts daily + window rows per delta before merging (7 per delta);
*window build* is today's build for the site (29 days of daily rows summed outside any write
transaction); *build write transaction* is its transaction that claims the build and writes
the windows, the only part that holds SQLite's write lock or the site row's lock on
PostgreSQL (in brackets: transactions, > 1 when a flush changed days it had read); *longest
flush meanwhile* is the slowest of the flushes of today's deltas that a second engine ran
every 20 ms during the build (in brackets: how many).
"""


def main() -> None:
    parser = in_process_parser(__doc__, db="both")
    parser.add_argument("--loads", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--pages", type=int, default=500)
    run_on_databases(parser.parse_args(), measure, report, section="vitals_page")


if __name__ == "__main__":
    main()
