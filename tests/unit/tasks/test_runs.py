"""Status rules: pings, timeouts and missed schedules applied to an in-memory task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.tasks.pings import Ping, PingKind
from app.tasks.runs import (
    Effects,
    RunRow,
    TaskState,
    apply_ping,
    finish_job_run,
    mark_overdue,
    time_out,
)
from app.tasks.schedules import Schedule

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def task(status: str = "new") -> TaskState:
    return TaskState(
        id=1,
        status=status,
        schedule=Schedule(period_seconds=3600, grace_seconds=600),
        max_run_seconds=900,
    )


def ping(kind: PingKind, at: float = 0, *, rid: str | None = None, code: int | None = None) -> Ping:
    return Ping(1, "backup", kind, T0 + timedelta(seconds=at), exit_code=code, rid=rid)


def test_start_then_end_in_one_batch_writes_one_finished_run() -> None:
    t, open_runs, effects = task(), [], Effects()
    apply_ping(t, open_runs, ping("start", rid="a"), effects, max_log_bytes=100)
    apply_ping(t, open_runs, ping("success", 42, rid="a"), effects, max_log_bytes=100)
    (run,) = effects.new_runs
    assert (run.status, run.duration_seconds, run.deadline_at) == ("success", 42.0, None)
    assert open_runs == []
    assert [(c.from_status, c.to_status) for c in effects.changes] == [
        ("new", "running"),
        ("running", "up"),
    ]
    assert t.next_expected_at == T0 + timedelta(seconds=42 + 3600)
    assert t.overdue_at == T0 + timedelta(seconds=42 + 3600 + 600)


def test_end_closes_a_run_stored_earlier_as_an_update() -> None:
    t, effects = task("running"), Effects()
    stored = RunRow(1, "running", T0, rid="a", deadline_at=T0 + timedelta(minutes=15), id=7)
    apply_ping(t, [stored], ping("fail", 5, rid="a", code=3), effects, max_log_bytes=100)
    assert effects.new_runs == []
    assert effects.updated_runs == [stored]
    assert (stored.status, stored.exit_code, stored.duration_seconds) == ("error", 3, 5.0)
    assert effects.changes[0].reason == "exit status 3"


def test_overdue_is_only_marked_after_the_grace_time() -> None:
    t = task("up")
    t.last_run_at = T0
    t.next_expected_at, t.overdue_at = t.schedule.deadlines(T0)
    assert mark_overdue(t, now=T0 + timedelta(seconds=4199)) is None
    change = mark_overdue(t, now=T0 + timedelta(seconds=4200))
    assert change is not None
    assert (change.from_status, change.to_status, t.status) == ("up", "overdue", "overdue")
    assert "expected by 2026-06-01 13:00:00 UTC + 600 s grace" in change.reason


def test_new_paused_and_running_tasks_are_never_marked_overdue() -> None:
    for status in ("new", "paused", "running", "overdue"):
        t = task(status)
        t.overdue_at = T0
        assert mark_overdue(t, now=T0 + timedelta(days=1)) is None
        assert t.status == status


def test_a_run_past_its_deadline_times_out_and_fails_the_task() -> None:
    t, effects = task("running"), Effects()
    run = RunRow(1, "running", T0, deadline_at=T0 + timedelta(seconds=900), id=3)
    time_out(t, run, now=T0 + timedelta(seconds=901), effects=effects)
    assert (run.status, run.duration_seconds, run.deadline_at) == ("timeout", 901.0, None)
    assert (t.status, t.last_status) == ("failed", "timeout")
    assert "did not end within 900 s" in effects.changes[0].reason


def test_cancelled_job_run_is_stored_without_changing_the_status() -> None:
    t, effects = task("up"), Effects()
    finish_job_run(
        t, status="cancelled", started_at=T0, duration_seconds=1.5, log="", effects=effects
    )
    assert effects.new_runs[0].status == "cancelled"
    assert t.status == "up"
    assert effects.changes == []
