"""Jobs of the notify domain, run by the scheduler leader: the dispatcher and retention."""

from __future__ import annotations

import functools
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.base import utcnow
from app.notify.dispatcher import Dispatcher
from app.notify.notifications import delete_expired
from app.scheduler import LeaderScheduler
from app.telemetry import VigilMetrics

DISPATCH_JOB_ID: Final = "notify.dispatch"
RETENTION_JOB_ID: Final = "notify.delete_expired"
RETENTION_INTERVAL_SECONDS: Final = 3600.0


async def retention_job(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Delete sent and dead notifications older than ``retention.days``."""
    return await delete_expired(
        sessions,
        now=utcnow(),
        keep_days=settings.retention.days,
        batch_size=settings.retention.batch_size,
    )


def register_jobs(
    scheduler: LeaderScheduler,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    metrics: VigilMetrics | None = None,
) -> Dispatcher:
    """Add the dispatcher (every ``notify.dispatch_interval_seconds``) and retention."""
    dispatcher = Dispatcher(sessions, settings.notify, holder=scheduler.holder_id, metrics=metrics)
    scheduler.add_job(
        dispatcher.run, job_id=DISPATCH_JOB_ID, seconds=settings.notify.dispatch_interval_seconds
    )
    scheduler.add_job(
        functools.partial(retention_job, sessions, settings),
        job_id=RETENTION_JOB_ID,
        seconds=RETENTION_INTERVAL_SECONDS,
    )
    return dispatcher
