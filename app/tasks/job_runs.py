"""Vigil's own scheduler jobs, recorded as task runs.

Each job is a task with no service (``service_id`` NULL, listed as "Vigil"), named by its
job id, expected every job interval; a run is stored when the job finishes, with the status
the task wrapper saw (``success``, ``error``, ``timeout``, ``cancelled``) and, on failure,
the exception (redacted). So the tasks page and the ``task_failed`` / ``task_overdue``
alert signals cover Vigil's own work too. The scheduler's lease heartbeat is not a job and
is not recorded.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from sqlalchemy import Connection, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.tasks.runs import Effects, TaskState, finish_job_run
from app.tasks.store import TASKS, store_effects
from app.telemetry.logging import redact
from app.telemetry.tasks import TaskRun as JobRun

MIN_GRACE_SECONDS: Final = 60


def job_schedule(interval_seconds: float) -> dict[str, Any]:
    """Schedule columns of a job's task: expected every interval, late after two more + 1 min."""
    period = max(1, round(interval_seconds))
    return {
        "schedule_kind": "period",
        "period_seconds": period,
        "grace_seconds": 2 * period + MIN_GRACE_SECONDS,
        "max_run_seconds": max(60, 10 * period),
    }


class JobRunRecorder:
    """``await recorder(run, interval_seconds=...)`` stores one finished job run."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, max_log_bytes: int) -> None:
        self._sessions = sessions
        self._max_log_bytes = max_log_bytes

    async def __call__(self, run: JobRun, *, interval_seconds: float) -> None:
        error = "" if run.error is None else f"{type(run.error).__name__}: {run.error}"
        log_text = redact(error)[: self._max_log_bytes]
        async with self._sessions.begin() as session:
            conn = await session.connection()
            await conn.run_sync(
                functools.partial(
                    _record, run=run, interval_seconds=interval_seconds, log_text=log_text
                )
            )


def _record(conn: Connection, *, run: JobRun, interval_seconds: float, log_text: str) -> None:
    task = _job_task(conn, run.task, interval_seconds)
    effects = Effects()
    finish_job_run(
        task,
        status=run.status,
        started_at=run.started_at,
        duration_seconds=run.duration_seconds,
        log=log_text,
        effects=effects,
    )
    store_effects(conn, [task], effects)


def _job_task(conn: Connection, name: str, interval_seconds: float) -> TaskState:
    query = select(TASKS).where(TASKS.c.service_id.is_(None), TASKS.c.name == name)
    row = conn.execute(query).one_or_none()
    if row is None:
        insert_task = insert(TASKS).values(name=name, **job_schedule(interval_seconds))
        row = conn.execute(insert_task.returning(*TASKS.c)).one()
    return TaskState.of(row)
