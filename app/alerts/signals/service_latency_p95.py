"""``service_latency_p95``: the 95th percentile of a service's health-check latency (ms)
over the last ``window_seconds``, from successful checks in ``service_checks``.

A service with fewer than ``min_samples`` such checks in the window has no series.
Label: ``service``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Final

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.signals.base import Sample, SignalContext
from app.services.models import Service, ServiceCheck

KIND: Final = "service_latency_p95"


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    service_id: int | None = None
    """None: every service, one series each."""
    window_seconds: Annotated[int, msgspec.Meta(ge=60, le=86_400)] = 900
    min_samples: Annotated[int, msgspec.Meta(ge=1)] = 3


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class ServiceLatencyP95:
    kind = KIND
    params_type = Params

    def check(self, params: Params) -> None:
        pass

    async def evaluate(
        self, session: AsyncSession, params: Params, ctx: SignalContext
    ) -> Sequence[Sample]:
        latencies = await _latencies(session, params.window_seconds, ctx)
        return [
            Sample({"service": name}, p95(values))
            for (service_id, name), values in sorted(latencies.items())
            if len(values) >= params.min_samples
            and (params.service_id is None or service_id == params.service_id)
        ]


async def _latencies(
    session: AsyncSession, window_seconds: int, ctx: SignalContext
) -> dict[tuple[int, str], list[float]]:
    """Latencies of successful checks in the window per (service id, name), once per tick."""
    key = (KIND, window_seconds)
    cached: dict[tuple[int, str], list[float]] | None = ctx.cache.get(key)
    if cached is None:
        rows = await session.execute(
            select(Service.id, Service.name, ServiceCheck.latency_ms)
            .join(Service, Service.id == ServiceCheck.service_id)
            .where(
                ServiceCheck.checked_at >= ctx.now - timedelta(seconds=window_seconds),
                ServiceCheck.checked_at <= ctx.now,
                ServiceCheck.ok.is_(True),
                ServiceCheck.latency_ms.is_not(None),
                Service.enabled.is_(True),
                Service.state != "paused",
            )
        )
        cached = {}
        for service_id, name, latency in rows.all():
            if latency is not None:
                cached.setdefault((service_id, name), []).append(latency)
        ctx.cache[key] = cached
    return cached


SIGNAL: Final = ServiceLatencyP95()
