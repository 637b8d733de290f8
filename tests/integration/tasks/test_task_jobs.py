"""Overdue and timeout jobs against a real database, with a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.tasks.jobs import mark_overdue_tasks, time_out_runs
from app.tasks.models import Task
from app.tasks.pings import Ping, PingKind
from tests.integration.tasks.conftest import changes, make_writer, only, runs, tasks

T0 = datetime(2026, 3, 28, 2, 30, tzinfo=UTC)


async def send(
    sessions: async_sessionmaker[AsyncSession],
    service_id: int,
    kind: PingKind,
    at: datetime,
    task: str = "backup",
) -> None:
    writer = make_writer(sessions)
    await writer.start()
    try:
        await writer.submit(Ping(service_id, task, kind, at))
    finally:
        await writer.stop()


async def test_period_task_goes_overdue_after_grace_and_records_it(
    sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    await send(sessions, service_id, "success", T0)  # default: daily, 1 h grace
    assert (
        await mark_overdue_tasks(sessions, now=T0 + timedelta(hours=25) - timedelta(seconds=1)) == 0
    )
    assert only(await tasks(sessions)).status == "up"

    assert await mark_overdue_tasks(sessions, now=T0 + timedelta(hours=25)) == 1
    task = only(await tasks(sessions))
    assert task.status == "overdue"
    assert task.status_changed_at == T0 + timedelta(hours=25)
    change = (await changes(sessions))[-1]
    assert (change.from_status, change.to_status) == ("up", "overdue")
    assert "expected by 2026-03-29 02:30:00 UTC + 3600 s grace" in change.reason
    # Safe to run twice: nothing more to mark.
    assert await mark_overdue_tasks(sessions, now=T0 + timedelta(hours=26)) == 0

    # The next ping brings it back up.
    await send(sessions, service_id, "success", T0 + timedelta(hours=26))
    assert only(await tasks(sessions)).status == "up"


async def test_cron_task_in_a_time_zone_goes_overdue_after_its_firing_plus_grace(
    sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    await send(sessions, service_id, "success", T0 - timedelta(days=1))
    async with sessions.begin() as session:
        await session.execute(
            update(Task).values(
                schedule_kind="cron",
                cron_expression="0 3 * * *",
                timezone="Europe/Paris",
                grace_seconds=900,
            )
        )
    await send(sessions, service_id, "success", T0)  # 03:30 Paris; next: 29 March 03:00 CEST
    task = only(await tasks(sessions))
    assert task.next_expected_at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    deadline = datetime(2026, 3, 29, 1, 15, tzinfo=UTC)
    assert await mark_overdue_tasks(sessions, now=deadline - timedelta(seconds=1)) == 0
    assert await mark_overdue_tasks(sessions, now=deadline) == 1
    assert only(await tasks(sessions)).status == "overdue"


async def test_new_and_running_tasks_are_not_marked_overdue(
    sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    await send(sessions, service_id, "success", T0, task="a")
    await send(sessions, service_id, "start", T0 + timedelta(minutes=1), task="a")
    assert await mark_overdue_tasks(sessions, now=T0 + timedelta(days=3)) == 0
    assert only(await tasks(sessions)).status == "running"


async def test_started_run_that_never_ends_times_out_and_fails_the_task(
    sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    await send(sessions, service_id, "start", T0)  # default limit: 3600 s
    assert await time_out_runs(sessions, now=T0 + timedelta(seconds=3599)) == 0
    assert await time_out_runs(sessions, now=T0 + timedelta(seconds=3600)) == 1
    run = only(await runs(sessions))
    assert (run.status, run.duration_seconds, run.deadline_at) == ("timeout", 3600.0, None)
    task = only(await tasks(sessions))
    assert (task.status, task.last_status) == ("failed", "timeout")
    assert "did not end within 3600 s" in (await changes(sessions))[-1].reason
    assert await time_out_runs(sessions, now=T0 + timedelta(hours=5)) == 0


async def test_an_end_after_the_timeout_is_a_run_of_its_own(
    sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    await send(sessions, service_id, "start", T0)
    await time_out_runs(sessions, now=T0 + timedelta(hours=2))
    await send(sessions, service_id, "success", T0 + timedelta(hours=3))
    timed_out, late_end = await runs(sessions)
    assert (timed_out.status, late_end.status, late_end.duration_seconds) == (
        "timeout",
        "success",
        None,
    )
    assert only(await tasks(sessions)).status == "up"
