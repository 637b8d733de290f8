"""Write side of the Web Vitals aggregates: additive upserts, window builds, retention.

Three tables hold the same counters (n, good, ni, poor, value_sum, b0..b99):

- ``rum_vitals_daily``  per (site, day, page, device, metric);
- ``rum_site_daily``    per (site, day, device, metric): cards and trend;
- ``rum_page_windows``  per (site, window_end, range_days, page, device | "all", metric):
  each page's totals over the 1 / 7 / 30 days ending on ``window_end``, so the pages table
  reads one row per page and metric instead of summing up to 30 days of rows.

Every write adds (``ON CONFLICT DO UPDATE SET n = n + excluded.n, ...``), as executemany of
one statement per table, so any number of replicas can flush the same keys. How the windows
stay exact (builds, late deltas, the lock that orders them) is in docs/rum.md, "Storage".
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.upsert import insert_for
from app.rum.deltas import VitalsDelta
from app.rum.models import (
    ALL_DEVICES,
    COUNTER_COLUMNS,
    WINDOW_RANGES,
    PageWindow,
    Site,
    SiteDaily,
    VitalsDaily,
    WindowBuild,
)

WINDOW_KEEP_DAYS: Final = 2
"""Window rows (and build claims) older than this many days before today are deleted: the
pages table reads today's or yesterday's windows only."""

_DAILY = VitalsDaily.__table__
_SITE_DAILY = SiteDaily.__table__
_WINDOWS = PageWindow.__table__
_BUILDS = WindowBuild.__table__
_SITES = Site.__table__

Row = list[Any]
"""Values of one row in table column order (key columns, then ``COUNTER_COLUMNS``)."""

DailyKey = tuple[int, date, str, str, str]
SiteKey = tuple[int, date, str, str]
WindowKey = tuple[int, date, int, str, str, str]
"""(site_id, window_end, range_days, device, page, metric)"""


# --------------------------------------------------------------------------- writing


async def write_deltas(
    sessions: async_sessionmaker[AsyncSession],
    deltas: Sequence[VitalsDelta],
    *,
    now: datetime,
) -> None:
    """Add ``deltas`` to the daily rows, the site rows and the page windows, all or nothing.

    A delta for day D is added to the windows ending on D and, when D is before today, to
    those ending on later days (up to D + range - 1) whose build has already run; windows
    built later pick D up from the daily rows instead.
    """
    if not deltas:
        return
    _utc_date(now)
    async with sessions.begin() as session:
        # FOR SHARE on PostgreSQL orders this flush against a window build of the same site
        # (FOR NO KEY UPDATE); SQLite runs one writer at a time, which orders them already.
        # Deltas of a site deleted meanwhile are dropped: they could never be written.
        sites = await _lock_sites(session, {d.site_id for d in deltas}, share=True)
        kept = [delta for delta in deltas if delta.site_id in sites]
        if not kept:
            return
        await _upsert(session, _DAILY, daily_rows(kept))
        await _upsert(session, _SITE_DAILY, site_rows(kept))
        built = await _built_after(session, kept)
        await _upsert(session, _WINDOWS, window_rows(kept, built=built))


async def _upsert(session: AsyncSession, table: Any, rows: list[Row]) -> None:
    """Executemany of :func:`upsert_statement` with positional rows."""
    await _execute_upsert(session, table, _driver_rows(session, table, rows))


def _driver_rows(session: AsyncSession, table: Any, rows: list[Row]) -> list[tuple[Any, ...]]:
    """``rows`` as the driver's parameters (dates as ISO text on SQLite: the driver SQL of
    :func:`_execute_upsert` skips SQLAlchemy's Date bind processing); changes ``rows``."""
    if session.get_bind().dialect.name == "sqlite":
        dates = [index for index, column in enumerate(table.columns) if column.name in _DATES]
        for row in rows:
            for index in dates:
                row[index] = row[index].isoformat()
    return [tuple(row) for row in rows]


async def _execute_upsert(session: AsyncSession, table: Any, params: list[tuple[Any, ...]]) -> None:
    """Run :func:`upsert_statement`, compiled once per dialect and table, as driver SQL: with
    105 parameters per row, SQLAlchemy's per-row parameter processing would cost more than
    the database does (~0.1 ms per row)."""
    if not params:
        return
    connection = await session.connection()
    dialect = connection.dialect
    sql = _COMPILED.get((dialect.name, table.name))
    if sql is None:
        compiled = upsert_statement(session, table).compile(dialect=dialect)
        assert list(compiled.positiontup or ()) == [c.name for c in table.columns], table.name
        sql = _COMPILED[(dialect.name, table.name)] = str(compiled)
    await connection.exec_driver_sql(sql, params)


_COMPILED: dict[tuple[str, str], str] = {}
_DATES = frozenset({"day", "window_end"})


def upsert_statement(session: AsyncSession, table: Any) -> Any:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE SET c = c + excluded.c`` for every
    counter column, with every column of ``table`` as a parameter in table order."""
    insert = insert_for(session, table)
    return insert.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key.columns],
        set_={name: table.c[name] + insert.excluded[name] for name in COUNTER_COLUMNS},
    )


async def _lock_sites(session: AsyncSession, site_ids: Iterable[int], *, share: bool) -> set[int]:
    """The sites of ``site_ids`` that exist, row-locked on PostgreSQL: FOR SHARE (flushes,
    which do not block each other) or FOR NO KEY UPDATE (a build, which waits for them and
    makes them wait; inserts' foreign-key checks are not blocked)."""
    query = select(_SITES.c.id).where(_SITES.c.id.in_(sorted(site_ids))).order_by(_SITES.c.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=share, key_share=not share)
    return set(await session.scalars(query))


async def _built_after(
    session: AsyncSession, deltas: Sequence[VitalsDelta]
) -> dict[int, set[date]]:
    """Per site, the built window ends after the earliest day of ``deltas``.

    Checked for every flush, not only for days before this replica's today: the leader's
    clock may already be past midnight."""
    earliest = min(delta.day for delta in deltas)
    rows = await session.execute(
        select(_BUILDS.c.site_id, _BUILDS.c.window_end).where(
            _BUILDS.c.site_id.in_(sorted({delta.site_id for delta in deltas})),
            _BUILDS.c.window_end > earliest,
        )
    )
    built: dict[int, set[date]] = {}
    for site_id, window_end in rows:
        built.setdefault(site_id, set()).add(window_end)
    return built


# --------------------------------------------------------------------------- pure rows


def _merge(keyed: Iterable[tuple[tuple[Any, ...], VitalsDelta]]) -> list[Row]:
    """One row per key: the key's values, then the summed counters of its deltas."""
    rows: dict[tuple[Any, ...], Row] = {}
    for key, d in keyed:
        row = rows.get(key)
        if row is None:
            rows[key] = [*key, d.n, d.good, d.ni, d.poor, d.value_sum, *d.buckets]
            continue
        at = len(key)
        row[at] += d.n
        row[at + 1] += d.good
        row[at + 2] += d.ni
        row[at + 3] += d.poor
        row[at + 4] += d.value_sum
        at += 5
        for index, count in enumerate(d.buckets):
            if count:
                row[at + index] += count
    return list(rows.values())


def daily_rows(deltas: Iterable[VitalsDelta]) -> list[Row]:
    """``rum_vitals_daily`` rows: deltas with the same key merged into one row."""
    return _merge(((d.site_id, d.day, d.page, d.device, d.metric), d) for d in deltas)


def site_rows(deltas: Iterable[VitalsDelta]) -> list[Row]:
    """``rum_site_daily`` rows: every page of a (site, day, device, metric) merged."""
    return _merge(((d.site_id, d.day, d.device, d.metric), d) for d in deltas)


def window_ends(day: date, range_days: int, built: Iterable[date]) -> list[date]:
    """Window ends a delta of ``day`` belongs to: ``day`` itself, and each built end in
    ``(day, day + range_days - 1]``."""
    last = day + timedelta(days=range_days - 1)
    return [day, *sorted(end for end in built if day < end <= last)]


def window_rows(
    deltas: Iterable[VitalsDelta], *, built: Mapping[int, Iterable[date]] | None = None
) -> list[Row]:
    """``rum_page_windows`` rows: each delta added, per range, to the windows of
    :func:`window_ends` (``built``: per site, the window ends whose build has run), for its
    device and for ``"all"``."""
    built = built or {}

    def keyed() -> Iterable[tuple[WindowKey, VitalsDelta]]:
        for d in deltas:
            site_built = list(built.get(d.site_id, ()))
            for range_days in WINDOW_RANGES:
                for end in window_ends(d.day, range_days, site_built):
                    yield (d.site_id, end, range_days, d.device, d.page, d.metric), d
                    yield (d.site_id, end, range_days, ALL_DEVICES, d.page, d.metric), d

    return _merge(keyed())


# --------------------------------------------------------------------------- window builds


async def build_windows(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> list[int]:
    """Complete every site's windows ending on today (the UTC date of ``now``); returns the
    sites this call built.

    Per site: read the sums of the earlier days of each range from ``rum_vitals_daily``
    outside any write transaction, then in one short transaction claim ``(site, today)`` in
    ``rum_window_builds`` (insert, do nothing on conflict, check the row count), check that
    no flush changed those days since the read, and add the sums to the windows (additive
    upserts, so deltas that flushes already added for today stay). A claimed build is never
    run again: safe to call twice, concurrently, or on several replicas.
    """
    today = _utc_date(now)
    async with sessions() as session:
        pending = list(
            await session.scalars(
                select(_SITES.c.id)
                .where(
                    ~select(_BUILDS.c.site_id)
                    .where(_BUILDS.c.site_id == _SITES.c.id, _BUILDS.c.window_end == today)
                    .exists()
                )
                .order_by(_SITES.c.id)
            )
        )
    built = []
    for site_id in pending:
        if await _build_site(sessions, site_id=site_id, today=today, now=now):
            built.append(site_id)
    return built


OPTIMISTIC_ATTEMPTS: Final = 2
"""Times a build may find, in its write transaction, that a flush changed days it read
before; it then re-reads those days outside it. The attempt after these re-reads the
changed days inside the write transaction instead, so a build always finishes."""


@dataclass(frozen=True, slots=True)
class BuildPart:
    """Days ``first..last`` (inclusive) that a build reads with one query; ``recent`` days
    count in the 7- and 30-day windows, the others in the 30-day window only."""

    first: date
    last: date
    recent: bool


def build_parts(window_end: date) -> list[BuildPart]:
    """The days before ``window_end`` that its build adds, in three parts: yesterday (the
    day late deltas change, re-read alone when they do), the 5 days before it, and the
    other 23 days of the 30-day range."""
    week, month = 7, max(WINDOW_RANGES)

    def day(offset: int) -> date:
        return window_end - timedelta(days=offset)

    return [
        BuildPart(day(1), day(1), recent=True),
        BuildPart(day(week - 1), day(2), recent=True),
        BuildPart(day(month - 1), day(week), recent=False),
    ]


Fingerprints = dict[date, tuple[int, int]]
"""Per day: ``(count(*), sum(n))`` of a site's ``rum_site_daily`` rows."""


def stale_parts(read: Mapping[BuildPart, Fingerprints], now: Fingerprints) -> list[BuildPart]:
    """The parts whose days' fingerprints differ from those read before their sums.

    A flush that changes daily rows of day D adds n >= 1 to the site row of D in the same
    transaction, and nothing else writes days before today (retention deletes only days
    older than every range), so equal fingerprints mean no flush changed the part's days."""
    return [
        part for part, fingerprints in read.items() if fingerprints != _fingerprints_of(now, part)
    ]


def _fingerprints_of(fingerprints: Fingerprints, part: BuildPart) -> Fingerprints:
    return {day: fp for day, fp in fingerprints.items() if part.first <= day <= part.last}


@dataclass(slots=True)
class _Read:
    """A part's sums, and the fingerprints of its days read before them."""

    fingerprints: Fingerprints
    sums: list[Sequence[Any]]


async def _build_site(
    sessions: async_sessionmaker[AsyncSession], *, site_id: int, today: date, now: datetime
) -> bool:
    reads: dict[BuildPart, _Read] = {}
    for attempt in range(OPTIMISTIC_ATTEMPTS + 1):
        async with sessions() as session:  # reads only: no write lock
            if await _claimed(session, site_id=site_id, window_end=today):
                return False
            await _refresh(session, reads, site_id=site_id, window_end=today)
            params = _driver_rows(session, _WINDOWS, _rows_of(reads, site_id, today))
        built = await _claim_and_write(
            sessions,
            site_id=site_id,
            today=today,
            now=now,
            reads=reads,
            params=params,
            read_inside=attempt == OPTIMISTIC_ATTEMPTS,
        )
        if built is not None:
            return built
    raise AssertionError("the last attempt reads inside the write transaction")


async def _claim_and_write(
    sessions: async_sessionmaker[AsyncSession],
    *,
    site_id: int,
    today: date,
    now: datetime,
    reads: dict[BuildPart, _Read],
    params: list[tuple[Any, ...]],
    read_inside: bool,
) -> bool | None:
    """Claim the build and write ``params``, in one transaction; None (rolled back) if a
    flush changed days that were read, unless ``read_inside``: then those are re-read here.

    Once the claim holds the write lock (SQLite's single writer; on PostgreSQL the site's row
    FOR NO KEY UPDATE, which waits for the flushes of the site in progress), no flush of the
    site commits until this does, and the flushes after it add late deltas to these windows
    themselves: the sums must be those of the daily rows as of now."""
    async with sessions() as session:  # closing without commit rolls back, claim included
        if not await _lock_sites(session, [site_id], share=False):
            return False  # deleted meanwhile
        claimed = await session.execute(
            insert_for(session, _BUILDS)
            .values(site_id=site_id, window_end=today, built_at=now)
            .on_conflict_do_nothing(index_elements=["site_id", "window_end"])
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        stale = stale_parts(
            {part: read.fingerprints for part, read in reads.items()},
            await _fingerprints(session, site_id=site_id, window_end=today),
        )
        if stale:
            if not read_inside:
                return None
            await _refresh(session, reads, site_id=site_id, window_end=today)
            params = _driver_rows(session, _WINDOWS, _rows_of(reads, site_id, today))
        await _execute_upsert(session, _WINDOWS, params)
        await session.commit()
    return True


async def _claimed(session: AsyncSession, *, site_id: int, window_end: date) -> bool:
    found = await session.scalar(
        select(_BUILDS.c.site_id).where(
            _BUILDS.c.site_id == site_id, _BUILDS.c.window_end == window_end
        )
    )
    return found is not None


async def _refresh(
    session: AsyncSession, reads: dict[BuildPart, _Read], *, site_id: int, window_end: date
) -> None:
    """Read the sums of every part not read yet or changed since, each after its days'
    fingerprints (so a flush between the two shows as a change later)."""
    fingerprints = await _fingerprints(session, site_id=site_id, window_end=window_end)
    for part in build_parts(window_end):
        part_fingerprints = _fingerprints_of(fingerprints, part)
        read = reads.get(part)
        if read is None or read.fingerprints != part_fingerprints:
            reads[part] = _Read(part_fingerprints, await _part_sums(session, site_id, part))


async def _fingerprints(session: AsyncSession, *, site_id: int, window_end: date) -> Fingerprints:
    """Fingerprints of the days a build of ``window_end`` reads (at most 29 x 20 rows)."""
    first = min(part.first for part in build_parts(window_end))
    rows = await session.execute(
        select(_SITE_DAILY.c.day, func.count(), func.sum(_SITE_DAILY.c.n))
        .where(
            _SITE_DAILY.c.site_id == site_id,
            _SITE_DAILY.c.day >= first,
            _SITE_DAILY.c.day < window_end,
        )
        .group_by(_SITE_DAILY.c.day)
    )
    return {day: (int(count), int(n)) for day, count, n in rows}


async def _part_sums(session: AsyncSession, site_id: int, part: BuildPart) -> list[Sequence[Any]]:
    """``(page, device, metric, recent, *counters)`` summed over the part's days."""
    rows = await session.execute(
        select(_DAILY.c.page, _DAILY.c.device, _DAILY.c.metric, *_summed(_DAILY))
        .where(
            _DAILY.c.site_id == site_id,
            _DAILY.c.day >= part.first,
            _DAILY.c.day <= part.last,
        )
        .group_by(_DAILY.c.page, _DAILY.c.device, _DAILY.c.metric)
    )
    return [
        (page, device, metric, part.recent, *counters) for page, device, metric, *counters in rows
    ]


def _rows_of(reads: Mapping[BuildPart, _Read], site_id: int, window_end: date) -> list[Row]:
    return build_rows(
        site_id=site_id,
        window_end=window_end,
        sums=(row for read in reads.values() for row in read.sums),
    )


def _summed(table: Any) -> list[Any]:
    return [func.sum(table.c[name]).label(name) for name in COUNTER_COLUMNS]


def build_rows(*, site_id: int, window_end: date, sums: Iterable[Sequence[Any]]) -> list[Row]:
    """Window rows from ``(page, device, metric, recent, *counters)`` sums of the days
    before ``window_end``: ``recent`` rows (the last 6 days) count in the 7- and 30-day
    windows, the others in the 30-day window; each for its device and for ``"all"``."""
    rows: dict[WindowKey, Row] = {}
    for page, device, metric, recent, *counters in sums:
        for range_days in (7, 30) if recent else (30,):
            for dev in (device, ALL_DEVICES):
                key = (site_id, window_end, range_days, dev, page, metric)
                row = rows.get(key)
                if row is None:
                    rows[key] = [*key, *counters]
                else:
                    row[len(key) :] = map(operator.add, row[len(key) :], counters)
    return list(rows.values())


# --------------------------------------------------------------------------- retention


async def delete_expired(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    keep_days: int,
    batch_size: int,
) -> int:
    """Delete daily rows of days more than ``keep_days`` before today (UTC date of ``now``:
    today and the ``keep_days`` days before it stay), and windows / build
    claims older than ``WINDOW_KEEP_DAYS`` (or ``keep_days`` if smaller); returns the rows
    deleted. Deletes at most ``batch_size`` rows per statement and transaction, one site
    at a time through the primary key, so no delete holds the database for long."""
    today = _utc_date(now)
    daily_cutoff = today - timedelta(days=keep_days)
    window_cutoff = today - timedelta(days=min(keep_days, WINDOW_KEEP_DAYS))
    async with sessions() as session:
        site_ids = list(await session.scalars(select(_SITES.c.id).order_by(_SITES.c.id)))
    deleted = 0
    for site_id in site_ids:
        for table, day_column, cutoff in (
            (_DAILY, "day", daily_cutoff),
            (_SITE_DAILY, "day", daily_cutoff),
            (_WINDOWS, "window_end", window_cutoff),
            (_BUILDS, "window_end", window_cutoff),
        ):
            deleted += await _delete_batches(
                sessions,
                table,
                and_(table.c.site_id == site_id, table.c[day_column] < cutoff),
                batch_size,
            )
    return deleted


async def _delete_batches(
    sessions: async_sessionmaker[AsyncSession], table: Any, condition: Any, batch_size: int
) -> int:
    key = tuple_(*table.primary_key.columns)
    deleted = 0
    while True:
        batch = select(*table.primary_key.columns).where(condition).limit(batch_size)
        async with sessions.begin() as session:
            result = await session.execute(delete(table).where(key.in_(batch)))
        count = int(result.rowcount)  # type: ignore[attr-defined]
        deleted += count
        if count < batch_size:
            return deleted


def _utc_date(now: datetime) -> date:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now.astimezone(UTC).date()
