"""Why a series' notifications are held back right now: a silence, a maintenance window or
an inhibiting alert. Built once per evaluation tick; evaluation itself is never suppressed.

Inhibition: a service that is down inhibits its own latency and task alerts (the down
alert says it all); series are matched by their ``service`` label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.maintenance import active_windows
from app.alerts.models import AlertSilence, MaintenanceWindow
from app.alerts.silences import ActiveSilence, compile_silences, matches_all
from app.services.models import Service

Reason = Literal["silenced", "maintenance", "inhibited"]
INHIBITED_BY_DOWN: Final = frozenset({"service_latency_p95", "task_failed", "task_overdue"})
"""Signals whose series a down service inhibits."""


@dataclass(frozen=True, slots=True)
class Suppression:
    """Everything that holds notifications back at one instant."""

    silences: tuple[ActiveSilence, ...] = ()
    global_maintenance: bool = False
    services_in_maintenance: frozenset[str] = field(default_factory=frozenset)
    down_services: frozenset[str] = field(default_factory=frozenset)

    @property
    def maintenance_active(self) -> bool:
        """True while any maintenance window is active."""
        return self.global_maintenance or bool(self.services_in_maintenance)

    def reason(self, signal: str, labels: Mapping[str, str]) -> Reason | None:
        """Why notifications of a series with ``labels`` are held back, or None."""
        service = labels.get("service")
        if self.global_maintenance or (service and service in self.services_in_maintenance):
            return "maintenance"
        if signal in INHIBITED_BY_DOWN and service and service in self.down_services:
            return "inhibited"
        if any(matches_all(s.matchers, labels) for s in self.silences):
            return "silenced"
        return None


def build_suppression(
    *,
    silences: Iterable[AlertSilence],
    windows: Iterable[MaintenanceWindow],
    service_names: Mapping[int, str],
    down_services: Iterable[str],
    now: datetime,
) -> Suppression:
    """The suppression at ``now`` from stored rows (pure)."""
    active = active_windows(windows, now)
    return Suppression(
        silences=tuple(s for s in compile_silences(silences) if s.starts_at <= now < s.ends_at),
        global_maintenance=any(w.service_id is None for w in active),
        services_in_maintenance=frozenset(
            service_names[w.service_id]
            for w in active
            if w.service_id is not None and w.service_id in service_names
        ),
        down_services=frozenset(down_services),
    )


async def load_suppression(session: AsyncSession, now: datetime) -> Suppression:
    """Read active silences, maintenance windows and down services."""
    silences = (
        await session.scalars(
            select(AlertSilence).where(AlertSilence.starts_at <= now, AlertSilence.ends_at > now)
        )
    ).all()
    windows = (await session.scalars(select(MaintenanceWindow))).all()
    services = (await session.execute(select(Service.id, Service.name, Service.state))).all()
    return build_suppression(
        silences=silences,
        windows=windows,
        service_names={id_: name for id_, name, _ in services},
        down_services=[name for _, name, state in services if state == "down"],
        now=now,
    )
