"""The overview's small reads: services per state and the down ones, failing and overdue
tasks. (Alerts come from :func:`app.alerts.rule_store.active_series`.)

Each is one or two indexed queries returning a handful of rows, whatever the history size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.services.models import Service
from app.tasks.models import Task

SHOWN: Final = 10
"""Rows listed per panel; the counts say how many there are in all."""
PROBLEM_STATUSES: Final = ("failed", "overdue")


@dataclass(frozen=True, slots=True)
class DownService:
    id: int
    name: str
    since: datetime


@dataclass(frozen=True, slots=True)
class ServiceCounts:
    by_state: dict[str, int]
    """Services per state (``pending``, ``up``, ``down``, ``paused``)."""
    down: list[DownService]
    """The longest-down first, at most :data:`SHOWN`."""


async def service_counts(session: AsyncSession) -> ServiceCounts:
    """How many services are in each state, and which are down."""
    rows = await session.execute(select(Service.state, func.count()).group_by(Service.state))
    down = await session.execute(
        select(Service.id, Service.name, Service.state_changed_at)
        .where(Service.state == "down")
        .order_by(Service.state_changed_at, Service.name)
        .limit(SHOWN)
    )
    return ServiceCounts(
        by_state={state: int(count) for state, count in rows.all()},
        down=[DownService(row.id, row.name, row.state_changed_at) for row in down.all()],
    )


@dataclass(frozen=True, slots=True)
class TaskProblem:
    id: int
    name: str
    service_id: int | None
    service_name: str | None
    """None for one of Vigil's own jobs."""
    status: str
    since: datetime
    last_run_at: datetime | None


@dataclass(frozen=True, slots=True)
class TaskCounts:
    total: int
    by_status: dict[str, int]
    problems: list[TaskProblem]
    """Failed and overdue tasks, the oldest problem first, at most :data:`SHOWN`."""


async def task_counts(session: AsyncSession) -> TaskCounts:
    """How many tasks are in each status, and which failed or are overdue."""
    rows = await session.execute(select(Task.status, func.count()).group_by(Task.status))
    problems = await session.execute(
        select(
            Task.id,
            Task.name,
            Task.service_id,
            Service.name.label("service_name"),
            Task.status,
            Task.status_changed_at,
            Task.last_run_at,
        )
        .outerjoin(Service, Service.id == Task.service_id)
        .where(Task.status.in_(PROBLEM_STATUSES))
        .order_by(Task.status_changed_at, Task.name)
        .limit(SHOWN)
    )
    by_status = {status: int(count) for status, count in rows.all()}
    return TaskCounts(
        total=sum(by_status.values()),
        by_status=by_status,
        problems=[
            TaskProblem(
                id=row.id,
                name=row.name,
                service_id=row.service_id,
                service_name=row.service_name,
                status=row.status,
                since=row.status_changed_at,
                last_run_at=row.last_run_at,
            )
            for row in problems.all()
        ],
    )
