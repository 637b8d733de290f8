"""The database session store: shared, expiring, cleanable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.session_store import DatabaseSessionStore
from app.db.base import utcnow


async def test_store_round_trips_and_overwrites(sessions: async_sessionmaker[AsyncSession]) -> None:
    store = DatabaseSessionStore(sessions)

    await store.set("a", b"one", expires_in=60)
    await store.set("a", "two", expires_in=60)

    assert await store.get("a") == b"two"
    assert await store.exists("a")
    assert 55 <= (await store.expires_in("a") or 0) <= 60
    assert await store.get("missing") is None


async def test_two_stores_on_one_database_share_sessions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await DatabaseSessionStore(sessions).set("shared", b"data", expires_in=60)

    assert await DatabaseSessionStore(sessions).get("shared") == b"data"


async def test_expired_sessions_read_as_missing_and_are_deleted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = DatabaseSessionStore(sessions)
    await store.set("old", b"x", expires_in=timedelta(seconds=1))
    await store.set("new", b"y", expires_in=3600)
    later = utcnow() + timedelta(seconds=5)

    removed = await store.delete_expired(now=later)

    assert removed == 1
    assert await store.get("old") is None
    assert await store.get("new") == b"y"


async def test_renew_extends_expiry(sessions: async_sessionmaker[AsyncSession]) -> None:
    store = DatabaseSessionStore(sessions)
    await store.set("s", b"x", expires_in=10)

    await store.get("s", renew_for=3600)

    assert (await store.expires_in("s") or 0) > 3000


async def test_delete_and_delete_all(sessions: async_sessionmaker[AsyncSession]) -> None:
    store = DatabaseSessionStore(sessions)
    await store.set("a", b"1")
    await store.set("b", b"2")

    await store.delete("a")
    assert not await store.exists("a")
    assert await store.expires_in("b") is None  # no expiry set
    await store.delete_all()
    assert not await store.exists("b")
