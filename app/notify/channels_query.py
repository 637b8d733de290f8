"""What the alert rules need to know about channels: choices for the form, ids that exist."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.notify.models import Channel


async def channel_choices(session: AsyncSession) -> list[tuple[int, str, str]]:
    """Every channel as ``(id, name, kind)``, by name (disabled ones included)."""
    rows = await session.execute(
        select(Channel.id, Channel.name, Channel.kind).order_by(Channel.name)
    )
    return [(row.id, row.name, row.kind) for row in rows]


async def existing_channel_ids(session: AsyncSession, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that are channels."""
    wanted = set(ids)
    if not wanted:
        return set()
    found = await session.scalars(select(Channel.id).where(Channel.id.in_(wanted)))
    return set(found)
