"""A named lease in the database: the replica that holds it runs the scheduler's jobs.

Acquiring and renewing are one compare-and-set ``UPDATE``: it succeeds when this holder
already has the lease or the lease has expired. No row locks, safe on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, case, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.upsert import insert_for


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]


async def try_acquire(
    sessions: async_sessionmaker[AsyncSession],
    *,
    name: str,
    holder: str,
    ttl: timedelta,
    now: datetime,
) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; True if held."""
    expires_at = now + ttl
    async with sessions.begin() as session:
        created = await session.execute(
            insert_for(session, Lease)
            .values(name=name, holder=holder, expires_at=expires_at, acquired_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        if created.rowcount == 1:  # type: ignore[attr-defined]
            return True
        taken = await session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
            .values(
                holder=holder,
                expires_at=expires_at,
                acquired_at=case((Lease.holder == holder, Lease.acquired_at), else_=now),
            )
        )
        return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


async def release(
    sessions: async_sessionmaker[AsyncSession], *, name: str, holder: str, now: datetime
) -> None:
    """Give the lease up at once, so another replica need not wait for the TTL."""
    async with sessions.begin() as session:
        await session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=now - timedelta(seconds=1))
        )
