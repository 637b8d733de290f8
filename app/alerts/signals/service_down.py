"""``service_down``: 1 for a service whose health checks turned it ``down``, else 0.

The service registry decides ``down`` (``failure_threshold`` consecutive failed checks,
3 by default). Disabled and paused services have no series. Label: ``service``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.signals.base import Sample, SignalContext
from app.services.models import Service

KIND: Final = "service_down"


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    service_id: int | None = None
    """None: every service, one series each."""


async def service_states(session: AsyncSession, ctx: SignalContext) -> dict[int, tuple[str, str]]:
    """``{id: (name, state)}`` of enabled, unpaused services (read once per tick)."""
    cached: dict[int, tuple[str, str]] | None = ctx.cache.get(KIND)
    if cached is None:
        rows = await session.execute(
            select(Service.id, Service.name, Service.state).where(
                Service.enabled.is_(True), Service.state != "paused"
            )
        )
        cached = {id_: (name, state) for id_, name, state in rows.all()}
        ctx.cache[KIND] = cached
    return cached


class ServiceDown:
    kind = KIND
    params_type = Params

    def check(self, params: Params) -> None:
        pass

    async def evaluate(
        self, session: AsyncSession, params: Params, ctx: SignalContext
    ) -> Sequence[Sample]:
        states = await service_states(session, ctx)
        return [
            Sample({"service": name}, 1.0 if state == "down" else 0.0)
            for service_id, (name, state) in sorted(states.items(), key=lambda item: item[1])
            if params.service_id is None or service_id == params.service_id
        ]


SIGNAL: Final = ServiceDown()
