"""Vigil's own scheduler jobs are recorded as task runs (the lease heartbeat is not)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import SchedulerSettings, TasksSettings
from app.scheduler import LeaderScheduler
from app.tasks.jobs import OVERDUE_JOB_ID, TIMEOUT_JOB_ID, register_jobs
from tests.integration.tasks.conftest import runs, tasks


async def test_each_job_run_is_stored_with_its_status_and_error(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    scheduler = LeaderScheduler(SchedulerSettings(lease_ttl_seconds=3), sessions)

    async def fine() -> None:
        await asyncio.sleep(0.01)

    async def broken() -> None:
        raise RuntimeError("smtp relay refused: password=hunter2")

    scheduler.add_job(fine, job_id="demo.fine", seconds=0.2)
    scheduler.add_job(broken, job_id="demo.broken", seconds=0.2)
    register_jobs(scheduler, sessions, TasksSettings(check_interval_seconds=1))
    scheduler.start()
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            names = {t.name for t in await tasks(sessions)}
            if {"demo.fine", "demo.broken", OVERDUE_JOB_ID, TIMEOUT_JOB_ID} <= names:
                break
    finally:
        await scheduler.shutdown()

    by_name = {t.name: t for t in await tasks(sessions)}
    assert "scheduler.heartbeat" not in by_name
    assert {t.service_id for t in by_name.values()} == {None}
    assert by_name["demo.fine"].status == "up"
    assert by_name["demo.fine"].period_seconds == 1  # the 0.2 s interval, rounded up
    assert by_name["demo.broken"].status == "failed"
    fine_runs = await runs(sessions, "demo.fine")
    assert fine_runs
    assert all(r.status in ("success", "cancelled") for r in fine_runs)
    assert all(r.duration_seconds is not None and r.duration_seconds >= 0 for r in fine_runs)
    broken_run = (await runs(sessions, "demo.broken"))[0]
    assert broken_run.status == "error"
    assert broken_run.log.startswith("RuntimeError: smtp relay refused")
    assert "hunter2" not in broken_run.log


async def test_jobs_are_not_recorded_when_turned_off(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    scheduler = LeaderScheduler(SchedulerSettings(lease_ttl_seconds=3), sessions)
    register_jobs(scheduler, sessions, TasksSettings(record_jobs=False))
    assert scheduler.job_recorder is None


async def test_shutdown_waits_until_a_cancelled_run_is_recorded(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A run in progress at shutdown is cancelled and stored as such before shutdown returns
    (left running, it wrote after the engine was gone and could hang the event loop's end)."""
    scheduler = LeaderScheduler(SchedulerSettings(lease_ttl_seconds=3), sessions)
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(60)

    scheduler.add_job(slow, job_id="demo.slow", seconds=0.2)
    register_jobs(scheduler, sessions, TasksSettings(check_interval_seconds=60))
    scheduler.start()
    try:
        await asyncio.wait_for(started.wait(), 10)
    finally:
        await asyncio.wait_for(scheduler.shutdown(), 10)

    (run,) = await runs(sessions, "demo.slow")
    assert run.status == "cancelled"
