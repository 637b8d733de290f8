"""What the task pages read: each task's latest finished runs, oldest first, in one query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.tasks import queries
from app.tasks.pings import Ping
from app.tasks.views import SPARK_RUNS
from tests.integration.tasks.conftest import make_writer

T0 = datetime(2026, 5, 1, tzinfo=UTC)


async def test_recent_runs_are_the_latest_finished_ones_oldest_first_per_task(
    sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    writer = make_writer(sessions)
    await writer.start()
    try:
        at = T0
        for i in range(SPARK_RUNS + 5):
            for task, factor in (("a", 1), ("b", 10)):
                await writer.submit(Ping(service_id, task, "start", at))
                kind = "fail" if i % 4 == 3 else "success"
                end = at + timedelta(seconds=(i + 1) * factor)
                await writer.submit(Ping(service_id, task, kind, end))
            await writer.submit(Ping(service_id, "a", "log", at))  # not a finished run
            at += timedelta(hours=1)
        await writer.submit(Ping(service_id, "a", "start", at))  # still running: not shown
    finally:
        await writer.stop()

    lines = {line.task.name: line for line in await queries.task_lines(sessions)}
    kept = range(5, SPARK_RUNS + 5)
    assert lines["a"].recent == [("error" if i % 4 == 3 else "success", float(i + 1)) for i in kept]
    assert lines["b"].recent == [
        ("error" if i % 4 == 3 else "success", float((i + 1) * 10)) for i in kept
    ]
    detail = await queries.task_detail(sessions, lines["b"].task.id)
    assert detail.line.recent == lines["b"].recent
