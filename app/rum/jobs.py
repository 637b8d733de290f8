"""Jobs of the RUM domain, run by the scheduler leader: window builds and retention."""

from __future__ import annotations

import functools
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.base import utcnow
from app.rum.aggregates import build_windows, delete_expired
from app.scheduler import LeaderScheduler

WINDOW_BUILD_JOB_ID: Final = "rum.build_windows"
WINDOW_BUILD_INTERVAL_SECONDS: Final = 60.0
"""A new UTC day's page windows are complete at most this long after midnight."""
RETENTION_JOB_ID: Final = "rum.delete_expired"
RETENTION_INTERVAL_SECONDS: Final = 3600.0


async def build_windows_job(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    """Build today's page windows of every site not built yet (a no-op once done)."""
    return await build_windows(sessions, now=utcnow())


async def retention_job(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Delete Web Vitals aggregates older than ``retention.days``, in batches."""
    return await delete_expired(
        sessions,
        now=utcnow(),
        keep_days=settings.retention.days,
        batch_size=settings.retention.batch_size,
    )


def register_jobs(
    scheduler: LeaderScheduler, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Add the RUM jobs to the leader's scheduler."""
    scheduler.add_job(
        functools.partial(build_windows_job, sessions),
        job_id=WINDOW_BUILD_JOB_ID,
        seconds=WINDOW_BUILD_INTERVAL_SECONDS,
    )
    scheduler.add_job(
        functools.partial(retention_job, sessions, settings),
        job_id=RETENTION_JOB_ID,
        seconds=RETENTION_INTERVAL_SECONDS,
    )
