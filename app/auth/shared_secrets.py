"""Random secrets created once and shared by every replica through the database."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import AuthSecret
from app.db.upsert import insert_for


async def load_or_create_secret(sessions: async_sessionmaker[AsyncSession], *, name: str) -> str:
    """The secret called ``name``; the first replica to ask creates it."""
    async with sessions.begin() as session:
        await session.execute(
            insert_for(session, AuthSecret)
            .values(name=name, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        value = await session.scalar(select(AuthSecret.value).where(AuthSecret.name == name))
    assert value is not None
    return value


class SharedSecret:
    """A secret loaded from the database on first use and then kept in memory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, name: str) -> None:
        self._sessions = sessions
        self._name = name
        self._value: str | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._value is None:
            async with self._lock:
                if self._value is None:
                    self._value = await load_or_create_secret(self._sessions, name=self._name)
        return self._value
