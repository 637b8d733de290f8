"""Read side of the services pages: uptime, p95 latency, check history and state changes.

Every query reads ``service_checks`` / ``service_state_changes`` through their
``(service_id, time)`` indexes and aggregates in SQL, so a month of checks (43 k rows per
service at one a minute) comes back as a few numbers or a few hundred chart buckets.
Uptime sums the hourly counts of ``service_check_hours`` (720 rows per service for 30 days)
and reads checks only for the part of the window's first hour. Usage::

    health = await service_health(sessions, now=utcnow())            # {service_id: Health}
    buckets = await check_buckets(sessions, service_id=1, since=..., until=..., count=288)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.services.check_hours import hour_of
from app.services.models import ServiceCheck, ServiceCheckHour, ServiceStateChange

WINDOWS: Final[dict[str, timedelta]] = {
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
"""Uptime windows the pages show, ending now."""
HOUR: Final = timedelta(hours=1)


class EpochSeconds(FunctionElement[int]):
    """Whole seconds since 1970 of a UTC datetime column, on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(EpochSeconds, "postgresql")
def _epoch_postgresql(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@dataclass(frozen=True, slots=True)
class Uptime:
    """Checks in a window and how many of them were ok."""

    checks: int = 0
    ok: int = 0

    @property
    def share(self) -> float | None:
        """Share of ok checks (0..1), None without checks."""
        return self.ok / self.checks if self.checks else None


@dataclass(frozen=True, slots=True)
class Health:
    """One service's uptime per window and p95 latency over the last 24 h."""

    uptime: dict[str, Uptime]
    p95_ms: float | None
    latency_samples: int


NO_HEALTH: Final = Health(uptime={w: Uptime() for w in WINDOWS}, p95_ms=None, latency_samples=0)


async def service_health(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    service_ids: Sequence[int] | None = None,
) -> dict[int, Health]:
    """Uptime over 24 h / 7 d / 30 d and p95 latency over 24 h of every (or the given)
    service that has checks; services without any are left out (see :data:`NO_HEALTH`)."""
    p95_query = _p95_query(since=now - WINDOWS["24h"], until=now)
    if service_ids is not None:
        p95_query = p95_query.where(p95_query.selected_columns.service_id.in_(service_ids))
    uptime: dict[int, dict[str, Uptime]] = {}
    async with sessions() as session:
        for name, window in WINDOWS.items():
            counts = await _uptime_counts(session, since=now - window, service_ids=service_ids)
            for service_id, (total, ok) in counts.items():
                windows = uptime.setdefault(service_id, {w: Uptime() for w in WINDOWS})
                windows[name] = Uptime(checks=total, ok=ok)
        p95_rows = (await session.execute(p95_query)).all()
    p95 = {row.service_id: (float(row.latency_ms), int(row.n)) for row in p95_rows}
    return {
        service_id: Health(
            uptime=windows,
            p95_ms=p95.get(service_id, (None, 0))[0],
            latency_samples=p95.get(service_id, (None, 0))[1],
        )
        for service_id, windows in uptime.items()
    }


async def _uptime_counts(
    session: AsyncSession, *, since: datetime, service_ids: Sequence[int] | None
) -> dict[int, tuple[int, int]]:
    """(checks, ok checks) per service since ``since``: whole hours from
    ``service_check_hours``, the part of the first hour after ``since`` from the checks."""
    first_full_hour = hour_of(since) if since == hour_of(since) else hour_of(since) + HOUR
    hours = ServiceCheckHour.__table__.c
    checks = ServiceCheck.__table__.c
    queries = [
        select(hours.service_id, func.sum(hours.checks), func.sum(hours.ok))
        .where(hours.hour >= first_full_hour)
        .group_by(hours.service_id),
        select(checks.service_id, func.count(), func.sum(cast(checks.ok, Integer)))
        .where(checks.checked_at >= since, checks.checked_at < first_full_hour)
        .group_by(checks.service_id),
    ]
    counts: dict[int, tuple[int, int]] = {}
    for query, service_id in zip(queries, (hours.service_id, checks.service_id), strict=True):
        if service_ids is not None:
            query = query.where(service_id.in_(service_ids))
        for row_service, total, ok in (await session.execute(query)).all():
            before = counts.get(row_service, (0, 0))
            counts[row_service] = (before[0] + int(total), before[1] + int(ok or 0))
    return counts


def _p95_query(*, since: datetime, until: datetime) -> Any:
    """Nearest-rank p95 of ``latency_ms`` per service, ranked in SQL with window functions:
    the row whose rank is ceil(0.95 n), i.e. ``(95 n + 99) / 100`` in integer arithmetic."""
    checks = ServiceCheck.__table__.c
    ranked = (
        select(
            checks.service_id,
            checks.latency_ms,
            func.row_number()
            .over(partition_by=checks.service_id, order_by=checks.latency_ms)
            .label("rank"),
            func.count().over(partition_by=checks.service_id).label("n"),
        )
        .where(
            checks.checked_at >= since,
            checks.checked_at <= until,
            checks.latency_ms.is_not(None),
        )
        .subquery()
    )
    return select(ranked.c.service_id, ranked.c.latency_ms, ranked.c.n).where(
        ranked.c.rank == (ranked.c.n * 95 + 99) // 100
    )


@dataclass(frozen=True, slots=True)
class Bucket:
    """Checks in one slice of the chart's range: count, failures and latency."""

    start: datetime
    checks: int
    failed: int
    avg_ms: float | None
    max_ms: float | None


async def check_buckets(
    sessions: async_sessionmaker[AsyncSession],
    *,
    service_id: int,
    since: datetime,
    until: datetime,
    count: int,
) -> list[Bucket]:
    """``count`` equal slices of ``[since, until)``, each with its checks aggregated in SQL;
    every slice is returned, an empty one with ``checks == 0``."""
    checks = ServiceCheck.__table__.c
    size = max(1, -(-int((until - since).total_seconds()) // count))  # ceil: all rows fit
    start = int(since.timestamp())
    index = ((EpochSeconds(checks.checked_at) - start) // size).label("bucket")
    query = (
        select(
            index,
            func.count(),
            func.sum(case((checks.ok, 0), else_=1)),
            func.avg(checks.latency_ms),
            func.max(checks.latency_ms),
        )
        .where(
            checks.service_id == service_id,
            checks.checked_at >= since,
            checks.checked_at < until,
        )
        .group_by(index)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    by_index = {int(row[0]): row for row in rows}
    buckets = []
    for i in range(count):
        row = by_index.get(i)
        buckets.append(
            Bucket(
                start=since + timedelta(seconds=i * size),
                checks=int(row[1]) if row else 0,
                failed=int(row[2] or 0) if row else 0,
                avg_ms=float(row[3]) if row and row[3] is not None else None,
                max_ms=float(row[4]) if row and row[4] is not None else None,
            )
        )
    return buckets


async def recent_checks(
    sessions: async_sessionmaker[AsyncSession], *, service_id: int, limit: int
) -> list[ServiceCheck]:
    """The latest ``limit`` check results, newest first."""
    async with sessions() as session:
        return list(
            await session.scalars(
                select(ServiceCheck)
                .where(ServiceCheck.service_id == service_id)
                .order_by(ServiceCheck.checked_at.desc())
                .limit(limit)
            )
        )


async def state_changes(
    sessions: async_sessionmaker[AsyncSession], *, service_id: int, limit: int
) -> list[ServiceStateChange]:
    """The latest ``limit`` state changes, newest first."""
    async with sessions() as session:
        return list(
            await session.scalars(
                select(ServiceStateChange)
                .where(ServiceStateChange.service_id == service_id)
                .order_by(ServiceStateChange.changed_at.desc(), ServiceStateChange.id.desc())
                .limit(limit)
            )
        )
