"""Jobs of the auth domain, run by the scheduler leader: expired login sessions."""

from __future__ import annotations

import functools

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.session_store import DatabaseSessionStore
from app.scheduler import LeaderScheduler

EXPIRED_SESSIONS_JOB_ID = "auth.delete_expired_sessions"
EXPIRED_SESSIONS_INTERVAL_SECONDS = 3600.0


async def delete_expired_sessions(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Remove login sessions past their expiry; safe to run twice or on any replica."""
    return await DatabaseSessionStore(sessions).delete_expired()


def register_jobs(scheduler: LeaderScheduler, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Add the auth jobs to the leader's scheduler."""
    scheduler.add_job(
        functools.partial(delete_expired_sessions, sessions),
        job_id=EXPIRED_SESSIONS_JOB_ID,
        seconds=EXPIRED_SESSIONS_INTERVAL_SECONDS,
    )
