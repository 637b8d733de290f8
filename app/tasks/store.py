"""Reading and writing the task tables for a batch of pings, in one transaction (sync Core).

Sync on purpose: a whole batch runs as one function on one connection, which
:mod:`app.tasks.transactions` runs either in a thread of its own (SQLite: one hop per batch
instead of one per statement) or through the async engine (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, func, insert, select, update

from app.tasks.models import Task, TaskRun, TaskStatusChange
from app.tasks.pings import Ping
from app.tasks.runs import Effects, RunRow, TaskState, apply_ping

TASKS = cast("Table", Task.__table__)
RUNS = cast("Table", TaskRun.__table__)
CHANGES = cast("Table", TaskStatusChange.__table__)
# Executemany updates by id: the SET clause comes from the parameters' keys.
_UPDATE_RUN = update(RUNS).where(RUNS.c.id == bindparam("b_id"))
_UPDATE_TASK = update(TASKS).where(TASKS.c.id == bindparam("b_id"))


class UnknownTask(LookupError):
    """The ping names a task that does not exist and may not be created."""


class TaskDefaults:
    """How auto-created tasks start out, and whether they may be created at all."""

    __slots__ = (
        "auto_create",
        "grace_seconds",
        "max_per_service",
        "max_run_seconds",
        "period_seconds",
    )

    def __init__(
        self,
        *,
        auto_create: bool = True,
        period_seconds: int = 86_400,
        grace_seconds: int = 3600,
        max_run_seconds: int = 3600,
        max_per_service: int = 200,
    ) -> None:
        self.auto_create = auto_create
        self.period_seconds = period_seconds
        self.grace_seconds = grace_seconds
        self.max_run_seconds = max_run_seconds
        self.max_per_service = max_per_service


def write_pings(
    conn: Connection, pings: Sequence[Ping], *, defaults: TaskDefaults, max_log_bytes: int
) -> list[BaseException | None]:
    """Apply ``pings`` in order and store the result; per ping None, or why it was refused."""
    tasks, open_runs = _load(conn, pings, defaults)
    effects = Effects()
    outcomes: list[BaseException | None] = []
    for ping in pings:
        task = tasks.get((ping.service_id, ping.task))
        if task is None:
            outcomes.append(UnknownTask(ping.task))
            continue
        runs = open_runs.setdefault(task.id, [])
        apply_ping(task, runs, ping, effects, max_log_bytes=max_log_bytes)
        outcomes.append(None)
    store_effects(conn, tasks.values(), effects)
    return outcomes


def store_effects(conn: Connection, tasks: Iterable[TaskState], effects: Effects) -> None:
    """Write the effects and every changed task (executemany, one statement per kind)."""
    if effects.new_runs:
        conn.execute(insert(RUNS), [run.values() for run in effects.new_runs])
    if effects.updated_runs:
        conn.execute(_UPDATE_RUN, [{**r.values(), "b_id": r.id} for r in effects.updated_runs])
    changed = [t for t in tasks if t.dirty]
    if changed:
        conn.execute(_UPDATE_TASK, [{**t.values(), "b_id": t.id} for t in changed])
    if effects.changes:
        conn.execute(insert(CHANGES), [c.values() for c in effects.changes])


def _load(
    conn: Connection, pings: Sequence[Ping], defaults: TaskDefaults
) -> tuple[dict[tuple[int, str], TaskState], dict[int, list[RunRow]]]:
    """The tasks the pings name (created if allowed) and their open runs, oldest first."""
    keys = {(p.service_id, p.task) for p in pings}
    # One round trip: each task joined with its open runs (if any). The task rows are locked
    # (PostgreSQL; SQLite's BEGIN IMMEDIATE holds the whole file), so replicas writing pings
    # of the same task take turns instead of overwriting each other's status.
    rows = conn.execute(
        select(TASKS, *[c.label(f"run_{c.name}") for c in RUNS.c])
        .outerjoin(RUNS, (RUNS.c.task_id == TASKS.c.id) & (RUNS.c.status == "running"))
        .where(
            TASKS.c.service_id.in_({k[0] for k in keys}),
            TASKS.c.name.in_({k[1] for k in keys}),
        )
        .order_by(TASKS.c.id, RUNS.c.id)
        .with_for_update(of=TASKS)
    )
    tasks: dict[tuple[int, str], TaskState] = {}
    open_runs: dict[int, list[RunRow]] = {}
    for row in rows:
        key = (row.service_id, row.name)
        if key not in tasks:
            tasks[key] = TaskState.of(row)
        if row.run_id is not None:
            open_runs.setdefault(row.id, []).append(_run_of(row))
    if defaults.auto_create:
        for service_id, name in sorted(keys - tasks.keys()):
            created = _create_task(conn, service_id, name, defaults)
            if created is not None:
                tasks[(service_id, name)] = TaskState.of(created)
    return {k: v for k, v in tasks.items() if k in keys}, open_runs


def _run_of(row: Row[Any]) -> RunRow:
    m = row._mapping
    return RunRow(
        id=m["run_id"],
        task_id=m["run_task_id"],
        status=m["run_status"],
        started_at=m["run_started_at"],
        rid=m["run_rid"],
        ended_at=m["run_ended_at"],
        deadline_at=m["run_deadline_at"],
        duration_seconds=m["run_duration_seconds"],
        exit_code=m["run_exit_code"],
        log=m["run_log"],
        log_truncated=m["run_log_truncated"],
    )


def _create_task(
    conn: Connection, service_id: int, name: str, defaults: TaskDefaults
) -> Row[Any] | None:
    count = conn.scalar(
        select(func.count()).select_from(TASKS).where(TASKS.c.service_id == service_id)
    )
    if (count or 0) >= defaults.max_per_service:
        return None
    return conn.execute(
        insert(TASKS)
        .values(
            service_id=service_id,
            name=name,
            period_seconds=defaults.period_seconds,
            grace_seconds=defaults.grace_seconds,
            max_run_seconds=defaults.max_run_seconds,
        )
        .returning(*TASKS.c)
    ).one()
