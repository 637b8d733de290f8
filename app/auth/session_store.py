"""A Litestar :class:`Store` over the ``login_sessions`` table.

Every replica on the same database sees the same sessions. Expired rows read as missing
and are removed by :meth:`DatabaseSessionStore.delete_expired`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from litestar.stores.base import Store
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import LoginSession
from app.db.base import utcnow
from app.db.upsert import insert_for


def _expiry(expires_in: int | timedelta | None, now: datetime) -> datetime | None:
    if expires_in is None:
        return None
    if not isinstance(expires_in, timedelta):
        expires_in = timedelta(seconds=expires_in)
    return now + expires_in


def _live(row: LoginSession | None, now: datetime) -> bool:
    return row is not None and (row.expires_at is None or row.expires_at > now)


class DatabaseSessionStore(Store):
    """Session data keyed by session id, in the database."""

    __slots__ = ("_sessions",)

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        expires_at = _expiry(expires_in, utcnow())
        async with self._sessions.begin() as session:
            insert = insert_for(session, LoginSession).values(
                id=key, data=data, expires_at=expires_at
            )
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=["id"], set_={"data": data, "expires_at": expires_at}
                )
            )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        now = utcnow()
        async with self._sessions() as session:
            row = await session.get(LoginSession, key)
        if row is None or not _live(row, now):
            return None
        if renew_for is not None and row.expires_at is not None:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(LoginSession)
                    .where(LoginSession.id == key)
                    .values(expires_at=_expiry(renew_for, now))
                )
        return row.data

    async def delete(self, key: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(LoginSession).where(LoginSession.id == key))

    async def delete_all(self) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(LoginSession))

    async def exists(self, key: str) -> bool:
        async with self._sessions() as session:
            row = await session.get(LoginSession, key)
        return _live(row, utcnow())

    async def expires_in(self, key: str) -> int | None:
        now = utcnow()
        async with self._sessions() as session:
            expires_at = await session.scalar(
                select(LoginSession.expires_at).where(LoginSession.id == key)
            )
        if expires_at is None or expires_at <= now:
            return None
        return int((expires_at - now).total_seconds())

    async def delete_expired(self, *, now: datetime | None = None) -> int:
        """Remove sessions that have expired; returns how many were removed."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(LoginSession).where(LoginSession.expires_at <= (now or utcnow()))
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
