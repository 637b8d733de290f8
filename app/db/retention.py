"""Delete rows older than ``retention.days`` from Vigil's append-only tables, in batches.

Each batch deletes at most ``batch_size`` rows, walking the primary key forward, in its own
short transaction, so a writer (RUM flushes, pings, checks) waits for one batch at most,
never for the whole purge. Domains name their tables in ``app/main.py``::

    register_retention_job(scheduler, sessions, settings, [
        RetentionTarget(ServiceCheck.__table__, ServiceCheck.__table__.c.checked_at),
    ], metrics)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, FromClause, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.base import utcnow
from app.telemetry import VigilMetrics

if TYPE_CHECKING:
    from app.scheduler import LeaderScheduler

RETENTION_JOB_ID: Final = "db.delete_expired_rows"
RETENTION_INTERVAL_SECONDS: Final = 3600.0
"""Hourly rather than daily: an interval job's first run comes one interval after start-up,
so a daily one would never run on a replica restarted more often; a run with nothing
expired costs a few indexed queries per table, and rows go within an hour of expiring."""

log = logging.getLogger(__name__)


class RetentionError(Exception):
    """Some tables could not be purged (each failure is logged)."""


@dataclass(frozen=True, slots=True)
class RetentionTarget:
    """A table whose rows go once ``column`` (a UTC timestamp) is older than the cutoff.

    ``table`` is a model's ``__table__`` (a :class:`~sqlalchemy.Table` with a one-column
    primary key), ``column`` one of its columns, e.g. ``ServiceCheck.__table__.c.checked_at``.
    """

    table: FromClause
    column: ColumnElement[Any]

    def __post_init__(self) -> None:
        if not isinstance(self.table, Table) or len(self.table.primary_key.columns) != 1:
            raise TypeError(f"{self.table!r}: expected a table with a one-column primary key")


async def delete_expired_rows(
    sessions: async_sessionmaker[AsyncSession],
    target: RetentionTarget,
    *,
    cutoff: datetime,
    batch_size: int,
    metrics: VigilMetrics | None = None,
) -> int:
    """Delete the rows of ``target`` older than ``cutoff``; returns how many went.

    Every batch is one transaction: find the key of the ``batch_size``-th expired row after
    the previous batch, then ``DELETE ... WHERE column < cutoff AND previous < key <= it``
    (the last batch has no upper key). Walking the key forward means no batch scans the
    rows earlier batches deleted, which PostgreSQL keeps as dead tuples until a vacuum: a
    plain ``IN (SELECT ... LIMIT n)`` re-reads them every time and slows down quadratically.
    Each batch is timed and counted per table.
    """
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware (UTC)")
    table = target.table
    if not isinstance(table, Table):
        raise TypeError(f"{table!r} is not a table")
    (pk,) = table.primary_key.columns
    expired = target.column < cutoff
    async with sessions() as session:
        lowest = await session.scalar(select(func.min(pk)))
    if lowest is None:
        return 0
    # Batches walk the key forward; a bound on the key from the first batch on also keeps
    # SQLite on the key's index rather than sorting every expired row by key.
    after_last: ColumnElement[bool] = pk >= lowest
    deleted = 0
    while True:
        started = time.perf_counter()
        async with sessions.begin() as session:
            # The key of the batch's last row: the batch is every expired row up to it.
            bound = await session.scalar(
                select(pk).where(expired, after_last).order_by(pk).offset(batch_size - 1).limit(1)
            )
            upto = [pk <= bound] if bound is not None else []
            result = await session.execute(delete(table).where(expired, after_last, *upto))
        count = int(result.rowcount)  # type: ignore[attr-defined]
        if metrics is not None:
            metrics.retention_batch_duration.labels(table.name).observe(
                time.perf_counter() - started
            )
            metrics.retention_rows_deleted.labels(table.name).inc(count)
        deleted += count
        if bound is None:
            return deleted
        after_last = pk > bound
        await asyncio.sleep(0)  # let requests waiting on the event loop run between batches


async def delete_all_expired(
    sessions: async_sessionmaker[AsyncSession],
    targets: Sequence[RetentionTarget],
    *,
    now: datetime,
    keep_days: int,
    batch_size: int,
    metrics: VigilMetrics | None = None,
) -> dict[str, int]:
    """Delete expired rows of every target, one after another; rows deleted per table.

    A table that fails is logged and the others are still purged; then
    :class:`RetentionError` says which failed (so the job run counts as an error).
    """
    cutoff = now - timedelta(days=keep_days)
    deleted: dict[str, int] = {}
    failed = []
    for target in targets:
        try:
            deleted[target.table.description] = await delete_expired_rows(
                sessions, target, cutoff=cutoff, batch_size=batch_size, metrics=metrics
            )
        except Exception:
            log.exception("retention of %s failed", target.table.description)
            failed.append(target.table.description)
    if failed:
        raise RetentionError(f"could not purge {', '.join(failed)}; the others were purged")
    return deleted


def register_retention_job(
    scheduler: LeaderScheduler,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    targets: Sequence[RetentionTarget],
    metrics: VigilMetrics | None = None,
) -> None:
    """Purge ``targets`` on the leader (see :data:`RETENTION_INTERVAL_SECONDS`)."""

    async def run() -> dict[str, int]:
        return await delete_all_expired(
            sessions,
            targets,
            now=utcnow(),
            keep_days=settings.retention.days,
            batch_size=settings.retention.batch_size,
            metrics=metrics,
        )

    scheduler.add_job(run, job_id=RETENTION_JOB_ID, seconds=RETENTION_INTERVAL_SECONDS)
