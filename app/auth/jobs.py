"""Background jobs of the auth domain (the lead wires them into the scheduler)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.session_store import DatabaseSessionStore

EXPIRED_SESSIONS_JOB_ID = "auth.delete_expired_sessions"
EXPIRED_SESSIONS_INTERVAL_SECONDS = 3600.0


async def delete_expired_sessions(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Remove login sessions past their expiry; safe to run twice or on any replica."""
    return await DatabaseSessionStore(sessions).delete_expired()
