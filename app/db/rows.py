"""Queries the registries of named rows (sites, services, channels) share."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from app.db.base import Base

RowT = TypeVar("RowT", bound=Base)


async def delete_by_id(
    sessions: async_sessionmaker[AsyncSession], model: type[RowT], row_id: int
) -> bool:
    """Delete the ``model`` row with ``row_id`` (and what cascades); False when there is none."""
    async with sessions.begin() as session:
        row = await session.get(model, row_id)
        if row is None:
            return False
        await session.delete(row)
    return True


async def name_taken(
    session: AsyncSession,
    columns: tuple[InstrumentedAttribute[int], InstrumentedAttribute[str]],
    name: str,
    *,
    except_id: int | None = None,
) -> bool:
    """Whether a row other than ``except_id`` has ``name``, ignoring case; ``columns`` are
    the table's id and name, e.g. ``(Site.id, Site.name)``."""
    id_column, name_column = columns
    query = select(id_column).where(func.lower(name_column) == name.lower())
    if except_id is not None:
        query = query.where(id_column != except_id)
    return (await session.scalar(query.limit(1))) is not None
