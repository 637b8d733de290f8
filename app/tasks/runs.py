"""How pings, timeouts and missed schedules change runs and task statuses (no I/O).

The writer loads a snapshot of the tasks a batch of pings touches and of their open runs,
applies each ping in arrival order with :func:`apply_ping`, then writes what changed. The
functions here update that in-memory snapshot and say what to store; they never read the
clock (``now`` is the ping's arrival time or the job's time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.tasks.pings import Ping
from app.tasks.schedules import Schedule


@dataclass(slots=True)
class TaskState:
    """What the status rules need to know about one task."""

    id: int
    status: str
    schedule: Schedule
    max_run_seconds: int
    last_run_at: datetime | None = None
    last_status: str | None = None
    next_expected_at: datetime | None = None
    overdue_at: datetime | None = None
    status_changed_at: datetime | None = None
    dirty: bool = False
    """Set when the row must be written back."""

    @classmethod
    def of(cls, row: Any) -> TaskState:
        """From a ``tasks`` row (ORM object or Core row)."""
        return cls(
            id=row.id,
            status=row.status,
            schedule=Schedule(
                kind=row.schedule_kind,
                period_seconds=row.period_seconds,
                grace_seconds=row.grace_seconds,
                cron_expression=row.cron_expression,
                timezone=row.timezone,
            ),
            max_run_seconds=row.max_run_seconds,
            last_run_at=row.last_run_at,
            last_status=row.last_status,
            next_expected_at=row.next_expected_at,
            overdue_at=row.overdue_at,
            status_changed_at=row.status_changed_at,
        )

    def values(self) -> dict[str, Any]:
        """The columns of ``tasks`` this module changes."""
        return {
            "status": self.status,
            "status_changed_at": self.status_changed_at,
            "last_run_at": self.last_run_at,
            "last_status": self.last_status,
            "next_expected_at": self.next_expected_at,
            "overdue_at": self.overdue_at,
        }


@dataclass(slots=True)
class RunRow:
    """A ``task_runs`` row being written; ``id`` None while it is new in this batch."""

    task_id: int
    status: str
    started_at: datetime
    rid: str | None = None
    ended_at: datetime | None = None
    deadline_at: datetime | None = None
    duration_seconds: float | None = None
    exit_code: int | None = None
    log: str = ""
    log_truncated: bool = False
    id: int | None = None

    @classmethod
    def of(cls, row: Any) -> RunRow:
        """From a ``task_runs`` row."""
        return cls(
            id=row.id,
            task_id=row.task_id,
            status=row.status,
            started_at=row.started_at,
            rid=row.rid,
            ended_at=row.ended_at,
            deadline_at=row.deadline_at,
            duration_seconds=row.duration_seconds,
            exit_code=row.exit_code,
            log=row.log,
            log_truncated=row.log_truncated,
        )

    def values(self) -> dict[str, Any]:
        """Column values for an insert (without ``id``) or an update."""
        return {
            "task_id": self.task_id,
            "rid": self.rid,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "deadline_at": self.deadline_at,
            "duration_seconds": self.duration_seconds,
            "exit_code": self.exit_code,
            "log": self.log,
            "log_truncated": self.log_truncated,
        }


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A row for ``task_status_changes``."""

    task_id: int
    changed_at: datetime
    from_status: str
    to_status: str
    reason: str

    def values(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "changed_at": self.changed_at,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "reason": self.reason[:300],
        }


@dataclass(slots=True)
class Effects:
    """What applying pings (or a job) asks the writer to store."""

    new_runs: list[RunRow] = field(default_factory=list)
    updated_runs: list[RunRow] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)


def set_status(task: TaskState, status: str, *, now: datetime, reason: str) -> StatusChange | None:
    """Move ``task`` to ``status``; the change row, or None if it was already there."""
    task.dirty = True
    if task.status == status:
        return None
    change = StatusChange(task.id, now, task.status, status, reason)
    task.status = status
    task.status_changed_at = now
    return change


def apply_ping(
    task: TaskState, open_runs: list[RunRow], ping: Ping, effects: Effects, *, max_log_bytes: int
) -> RunRow:
    """Apply one ping to ``task`` and its open runs (oldest first); returns the run it wrote.

    * ``start`` opens a run (a start without ``rid`` cancels an earlier open run without
      one: that run's end can no longer be told apart);
    * an end (success, fail, exit status) closes the open run with the same ``rid`` (without
      ``rid``: the latest open run); with none open it is a run of its own, with no duration;
    * ``log`` stores a message and changes nothing else.
    """
    now = ping.received_at
    if ping.kind == "log":
        run = RunRow(task.id, "log", now, rid=ping.rid, ended_at=now)
        _set_log(run, ping.log, ping.log_truncated)
        effects.new_runs.append(run)
        return run
    if ping.kind == "start":
        if ping.rid is None:
            for stale in [r for r in open_runs if r.rid is None]:
                _close(stale, "cancelled", now, effects)
                open_runs.remove(stale)
        run = RunRow(
            task.id,
            "running",
            now,
            rid=ping.rid,
            deadline_at=now + timedelta(seconds=task.max_run_seconds),
        )
        _set_log(run, ping.log, ping.log_truncated)
        effects.new_runs.append(run)
        open_runs.append(run)
        _record(effects, set_status(task, "running", now=now, reason="run started"))
        return run

    status = "success" if ping.kind == "success" else "error"
    run_or_none = _pair(open_runs, ping.rid)
    if run_or_none is None:
        run = RunRow(task.id, status, now, rid=ping.rid, ended_at=now)
        effects.new_runs.append(run)
    else:
        run = run_or_none
        open_runs.remove(run)
        _close(run, status, now, effects)
    run.exit_code = ping.exit_code
    if ping.log:
        _append_log(run, ping.log, ping.log_truncated, max_log_bytes=max_log_bytes)
    task.last_run_at = now
    task.last_status = status
    task.next_expected_at, task.overdue_at = task.schedule.deadlines(now)
    reason = _end_reason(status, ping.exit_code)
    _record(
        effects, set_status(task, "up" if status == "success" else "failed", now=now, reason=reason)
    )
    return run


def time_out(task: TaskState, run: RunRow, *, now: datetime, effects: Effects) -> None:
    """Close a run still ``running`` past its deadline as ``timeout``; the task fails."""
    _close(run, "timeout", now, effects)
    task.last_run_at = now
    task.last_status = "timeout"
    reason = (
        f"run started at {run.started_at:%Y-%m-%d %H:%M:%S} UTC did not end "
        f"within {task.max_run_seconds} s"
    )
    _record(effects, set_status(task, "failed", now=now, reason=reason))


def mark_overdue(task: TaskState, *, now: datetime) -> StatusChange | None:
    """Mark ``task`` overdue if its grace time has passed (not while new, paused or running)."""
    if task.status in ("new", "paused", "running", "overdue"):
        return None
    if task.overdue_at is None or now < task.overdue_at:
        return None
    expected = task.next_expected_at or task.overdue_at
    last = f"{task.last_run_at:%Y-%m-%d %H:%M:%S} UTC" if task.last_run_at else "never"
    reason = (
        f"no run since {last}; expected by {expected:%Y-%m-%d %H:%M:%S} UTC "
        f"+ {task.schedule.grace_seconds} s grace"
    )
    return set_status(task, "overdue", now=now, reason=reason)


def _pair(open_runs: list[RunRow], rid: str | None) -> RunRow | None:
    for run in reversed(open_runs):
        if rid is None or run.rid == rid:
            return run
    return None


def _close(run: RunRow, status: str, now: datetime, effects: Effects) -> None:
    run.status = status
    run.ended_at = now
    run.deadline_at = None
    run.duration_seconds = max(0.0, (now - run.started_at).total_seconds())
    if run.id is not None and run not in effects.updated_runs:
        effects.updated_runs.append(run)


def _set_log(run: RunRow, text: str, truncated: bool) -> None:
    run.log = text
    run.log_truncated = truncated


def _append_log(run: RunRow, text: str, truncated: bool, *, max_log_bytes: int) -> None:
    if not run.log:
        _set_log(run, text, truncated)
        return
    joined = f"{run.log}\n{text}".encode()
    cut = len(joined) > max_log_bytes
    run.log = joined[:max_log_bytes].decode("utf-8", errors="ignore")
    run.log_truncated = run.log_truncated or truncated or cut


def _end_reason(status: str, exit_code: int | None) -> str:
    if exit_code is not None:
        return f"exit status {exit_code}"
    return "run succeeded" if status == "success" else "run failed"


def _record(effects: Effects, change: StatusChange | None) -> None:
    if change is not None:
        effects.changes.append(change)


def finish_job_run(
    task: TaskState,
    *,
    status: str,
    started_at: datetime,
    duration_seconds: float,
    log: str,
    effects: Effects,
) -> RunRow:
    """Record a finished run of one of Vigil's own jobs (status from the task wrapper).

    ``success`` → up, ``error`` / ``timeout`` → failed; a ``cancelled`` run (shutdown) is
    stored but changes no status.
    """
    ended_at = started_at + timedelta(seconds=duration_seconds)
    run = RunRow(
        task.id,
        status,
        started_at,
        ended_at=ended_at,
        duration_seconds=duration_seconds,
        log=log,
    )
    effects.new_runs.append(run)
    if status == "cancelled":
        return run
    task.last_run_at = ended_at
    task.last_status = status
    task.next_expected_at, task.overdue_at = task.schedule.deadlines(ended_at)
    new_status = "up" if status == "success" else "failed"
    reason = "job succeeded" if status == "success" else f"job run ended with {status}"
    _record(effects, set_status(task, new_status, now=ended_at, reason=reason))
    return run


def reschedule(task: TaskState, schedule: Schedule, *, now: datetime) -> StatusChange | None:
    """Give ``task`` a new schedule: deadlines from its last run; if no longer late, settle it."""
    task.schedule = schedule
    task.dirty = True
    if task.last_run_at is not None:
        task.next_expected_at, task.overdue_at = schedule.deadlines(task.last_run_at)
    if task.status == "overdue" and (task.overdue_at is None or now < task.overdue_at):
        return set_status(task, _settled_status(task), now=now, reason="schedule changed")
    return None


def pause(task: TaskState, *, now: datetime) -> StatusChange | None:
    """Stop watching ``task``: a paused task is never overdue (its next ping resumes it)."""
    return set_status(task, "paused", now=now, reason="paused by an admin")


def resume(task: TaskState, *, now: datetime) -> StatusChange | None:
    """Watch ``task`` again, in the state its last run left it."""
    if task.status != "paused":
        return None
    return set_status(task, _settled_status(task), now=now, reason="resumed by an admin")


def _settled_status(task: TaskState) -> str:
    if task.last_status is None:
        return "new"
    return "up" if task.last_status == "success" else "failed"
