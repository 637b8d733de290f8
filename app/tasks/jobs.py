"""Jobs of the tasks domain, run by the scheduler leader: overdue tasks and runs that never ended.

Both claim their rows with compare-and-set updates (``WHERE id = ? AND status = ...``) and
check the row count, so a ping written at the same moment wins and running them twice is
harmless.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Final, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import TasksSettings
from app.db.base import utcnow
from app.scheduler import LeaderScheduler
from app.tasks.job_runs import JobRunRecorder
from app.tasks.models import Task, TaskRun, TaskStatusChange
from app.tasks.runs import Effects, RunRow, TaskState, mark_overdue, time_out

OVERDUE_JOB_ID: Final = "tasks.mark_overdue"
TIMEOUT_JOB_ID: Final = "tasks.time_out_runs"
BATCH: Final = 500
"""Rows one run of a job handles; the rest wait for its next run."""

_tasks = cast("Table", Task.__table__)
_runs = cast("Table", TaskRun.__table__)
_changes = cast("Table", TaskStatusChange.__table__)


async def mark_overdue_tasks(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> int:
    """Mark every task past its ``overdue_at`` as ``overdue`` (with a status-change row)."""
    marked = 0
    async with sessions.begin() as session:
        rows = await session.execute(
            select(_tasks)
            .where(_tasks.c.overdue_at <= now, _tasks.c.status.in_(("up", "failed")))
            .order_by(_tasks.c.overdue_at)
            .limit(BATCH)
        )
        for row in rows.all():
            task = TaskState.of(row)
            change = mark_overdue(task, now=now)
            if change is None:
                continue
            claimed = await session.execute(
                update(_tasks)
                .where(
                    _tasks.c.id == task.id,
                    _tasks.c.status == change.from_status,
                    _tasks.c.overdue_at == row.overdue_at,  # no ping came in the meantime
                )
                .values(status=task.status, status_changed_at=now)
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                await session.execute(insert(_changes), [change.values()])
                marked += 1
    return marked


async def time_out_runs(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> int:
    """Close runs still ``running`` past their deadline as ``timeout``; their tasks fail."""
    closed = 0
    async with sessions.begin() as session:
        rows = await session.execute(
            select(_runs)
            .where(_runs.c.status == "running", _runs.c.deadline_at <= now)
            .order_by(_runs.c.deadline_at)
            .limit(BATCH)
        )
        for row in rows.all():
            run = RunRow.of(row)
            # Lock the task before the run, in the order the ping writer takes them.
            task_query = select(_tasks).where(_tasks.c.id == run.task_id).with_for_update()
            task_row = (await session.execute(task_query)).one()
            task = TaskState.of(task_row)
            effects = Effects()
            time_out(task, run, now=now, effects=effects)
            claimed = await session.execute(
                update(_runs)
                .where(_runs.c.id == run.id, _runs.c.status == "running")
                .values(run.values())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue  # its end arrived meanwhile
            await session.execute(
                update(_tasks).where(_tasks.c.id == task.id).values(task.values())
            )
            if effects.changes:
                await session.execute(insert(_changes), [c.values() for c in effects.changes])
            closed += 1
    return closed


async def overdue_job(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await mark_overdue_tasks(sessions, now=utcnow())


async def timeout_job(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await time_out_runs(sessions, now=utcnow())


def register_jobs(
    scheduler: LeaderScheduler, sessions: async_sessionmaker[AsyncSession], settings: TasksSettings
) -> None:
    """Add the tasks jobs to the leader's scheduler and record every job's runs as task runs."""
    scheduler.add_job(
        functools.partial(overdue_job, sessions),
        job_id=OVERDUE_JOB_ID,
        seconds=settings.check_interval_seconds,
    )
    scheduler.add_job(
        functools.partial(timeout_job, sessions),
        job_id=TIMEOUT_JOB_ID,
        seconds=settings.check_interval_seconds,
    )
    if settings.record_jobs:
        scheduler.job_recorder = JobRunRecorder(sessions, max_log_bytes=settings.max_log_bytes)
