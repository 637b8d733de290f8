"""Reads and admin edits for the task pages (everything goes through indexes per task)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import insert, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.models import Service
from app.tasks.models import Task, TaskRun, TaskStatusChange
from app.tasks.runs import StatusChange, TaskState, pause, reschedule, resume
from app.tasks.schedules import Schedule
from app.tasks.store import CHANGES
from app.tasks.views import SPARK_RUNS

RUNS_SHOWN: Final = 50
CHANGES_SHOWN: Final = 20
_FINISHED: Final = ("success", "error", "timeout")
_TASKS_PER_QUERY: Final = 200
"""Tasks whose recent runs one UNION ALL statement reads (SQLite allows 500 parts)."""


@dataclass(frozen=True, slots=True)
class TaskLine:
    """A task with its owner and its recent finished runs (status, duration), oldest first."""

    task: Task
    service_name: str | None
    service_token: str | None
    recent: list[tuple[str, float | None]]


@dataclass(frozen=True, slots=True)
class TaskDetail:
    line: TaskLine
    runs: list[TaskRun]
    changes: list[TaskStatusChange]


class TaskNotFoundError(LookupError):
    """No task with that id."""


async def task_lines(
    sessions: async_sessionmaker[AsyncSession], *, service_id: int | None = None
) -> list[TaskLine]:
    """Every task (of one service, if given): services' tasks by service, then Vigil's jobs."""
    query = (
        select(Task, Service.name, Service.ping_token)
        .outerjoin(Service, Service.id == Task.service_id)
        .order_by(Task.service_id.is_(None), Service.name, Task.name)
    )
    if service_id is not None:
        query = query.where(Task.service_id == service_id)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
        recent = await _recent_of(session, [task.id for task, _, _ in rows])
        return [TaskLine(task, name, token, recent.get(task.id, [])) for task, name, token in rows]


async def task_detail(sessions: async_sessionmaker[AsyncSession], task_id: int) -> TaskDetail:
    """One task with its latest runs (newest first) and status changes."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Task, Service.name, Service.ping_token)
                .outerjoin(Service, Service.id == Task.service_id)
                .where(Task.id == task_id)
            )
        ).one_or_none()
        if row is None:
            raise TaskNotFoundError(f"no task with id {task_id}")
        task, name, token = row
        runs = await session.scalars(
            select(TaskRun)
            .where(TaskRun.task_id == task_id)
            .order_by(TaskRun.id.desc())
            .limit(RUNS_SHOWN)
        )
        changes = await session.scalars(
            select(TaskStatusChange)
            .where(TaskStatusChange.task_id == task_id)
            .order_by(TaskStatusChange.changed_at.desc(), TaskStatusChange.id.desc())
            .limit(CHANGES_SHOWN)
        )
        recent = await _recent_of(session, [task_id])
        line = TaskLine(task, name, token, recent.get(task_id, []))
        return TaskDetail(line, list(runs), list(changes))


async def _recent_of(
    session: AsyncSession, task_ids: list[int]
) -> dict[int, list[tuple[str, float | None]]]:
    """Each task's latest finished runs (status, duration), oldest first: one statement per
    :data:`_TASKS_PER_QUERY` tasks, each part reading its task's newest rows by index."""
    recent: dict[int, list[tuple[str, float | None]]] = {}
    for start in range(0, len(task_ids), _TASKS_PER_QUERY):
        parts = [
            select(
                select(TaskRun.task_id, TaskRun.id, TaskRun.status, TaskRun.duration_seconds)
                .where(TaskRun.task_id == task_id, TaskRun.status.in_(_FINISHED))
                .order_by(TaskRun.id.desc())
                .limit(SPARK_RUNS)
                .subquery()
            )
            for task_id in task_ids[start : start + _TASKS_PER_QUERY]
        ]
        query = parts[0] if len(parts) == 1 else union_all(*parts)
        rows = sorted((await session.execute(query)).all(), key=lambda row: row[1])
        for task_id, _, status, duration in rows:  # by run id: oldest first
            recent.setdefault(task_id, []).append((status, duration))
    return recent


async def set_schedule(
    sessions: async_sessionmaker[AsyncSession],
    *,
    task_id: int,
    schedule: Schedule,
    max_run_seconds: int,
    now: datetime,
) -> None:
    """Store a task's new schedule and the deadlines that follow from it."""

    def change(task: TaskState) -> StatusChange | None:
        return reschedule(task, schedule, now=now)

    extra = {
        "schedule_kind": schedule.kind,
        "period_seconds": schedule.period_seconds,
        "grace_seconds": schedule.grace_seconds,
        "cron_expression": schedule.cron_expression,
        "timezone": schedule.timezone,
        "max_run_seconds": max_run_seconds,
    }
    await _edit(sessions, task_id, change, extra)


async def set_paused(
    sessions: async_sessionmaker[AsyncSession], *, task_id: int, paused: bool, now: datetime
) -> None:
    """Pause or resume a task (a status change row either way)."""

    def change(task: TaskState) -> StatusChange | None:
        return pause(task, now=now) if paused else resume(task, now=now)

    await _edit(sessions, task_id, change, {})


async def _edit(
    sessions: async_sessionmaker[AsyncSession],
    task_id: int,
    change: Callable[[TaskState], StatusChange | None],
    extra: dict[str, object],
) -> None:
    async with sessions.begin() as session:
        task_row = await session.get(Task, task_id, with_for_update=True)
        if task_row is None:
            raise TaskNotFoundError(f"no task with id {task_id}")
        task = TaskState.of(task_row)
        status_change = change(task)
        await session.execute(
            update(Task).where(Task.id == task_id).values(**task.values(), **extra)
        )
        if status_change is not None:
            await session.execute(insert(CHANGES), [status_change.values()])
