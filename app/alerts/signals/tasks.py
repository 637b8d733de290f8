"""What ``task_failed`` and ``task_overdue`` both read: every task with its status.

A task of Vigil's own (no service) has the label ``service="vigil"``. Paused tasks and
tasks of disabled or paused services have no series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.signals.base import SignalContext
from app.services.models import Service
from app.tasks.models import Task

OWN_JOBS_SERVICE: Final = "vigil"
"""The ``service`` label of Vigil's own scheduler jobs."""
_CACHE_KEY: Final = "tasks"
_BY_SERVICE: Final = "tasks_by_service"


class TaskParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    service_id: int | None = None
    """None: tasks of every service and Vigil's own jobs."""
    task: str | None = None
    """One task by name; None: every task."""


@dataclass(frozen=True, slots=True)
class TaskRow:
    service_id: int | None
    service: str
    name: str
    status: str
    overdue_at: datetime | None
    labels: dict[str, str] = field(init=False, compare=False)
    """``service`` and ``task``: built once, shared by every rule reading the task."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", {"service": self.service, "task": self.name})

    def selected(self, params: TaskParams) -> bool:
        """True when ``params`` ask for this task."""
        return (params.service_id is None or params.service_id == self.service_id) and (
            params.task is None or params.task == self.name
        )


async def selected_tasks(
    session: AsyncSession, params: TaskParams, ctx: SignalContext
) -> list[TaskRow]:
    """The tasks ``params`` ask for, among those that can alert."""
    rows = await task_rows(session, ctx)
    if params.service_id is not None:
        by_service: dict[int | None, list[TaskRow]] | None = ctx.cache.get(_BY_SERVICE)
        if by_service is None:
            by_service = {}
            for row in rows:
                by_service.setdefault(row.service_id, []).append(row)
            ctx.cache[_BY_SERVICE] = by_service
        rows = by_service.get(params.service_id, [])
    return [row for row in rows if row.selected(params)]


async def task_rows(session: AsyncSession, ctx: SignalContext) -> list[TaskRow]:
    """Every task that can alert, read once per tick."""
    cached: list[TaskRow] | None = ctx.cache.get(_CACHE_KEY)
    if cached is None:
        rows = await session.execute(
            select(Task.service_id, Service.name, Task.name, Task.status, Task.overdue_at)
            .outerjoin(Service, Service.id == Task.service_id)
            .where(
                Task.status != "paused",
                or_(
                    Task.service_id.is_(None),
                    (Service.enabled.is_(True)) & (Service.state != "paused"),
                ),
            )
            .order_by(Service.name, Task.name)
        )
        cached = [
            TaskRow(service_id, service or OWN_JOBS_SERVICE, name, status, overdue_at)
            for service_id, service, name, status, overdue_at in rows.all()
        ]
        ctx.cache[_CACHE_KEY] = cached
    return cached
