"""Group commit: concurrent pings share transactions, all are stored, one bad ping fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.tasks.pings import Ping
from app.tasks.writer import (
    PingNotStored,
    PingWriter,
    TaskDefaults,
    UnknownTask,
    WriterUnavailable,
)
from tests.integration.tasks.conftest import make_writer, runs, tasks

N = 200


@pytest.fixture
async def writer(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[PingWriter]:
    writer = make_writer(sessions, defaults=TaskDefaults(max_per_service=3), max_log_bytes=1000)
    await writer.start()
    yield writer
    await writer.stop()


async def test_concurrent_pings_share_transactions_and_are_all_stored(
    writer: PingWriter, sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    pings = [
        Ping(service_id, f"job-{i % 3}", "success", utcnow(), log=f"run {i}") for i in range(N)
    ]
    await asyncio.gather(*(writer.submit(p) for p in pings))
    assert writer.transactions < N / 4
    stored = await runs(sessions)
    assert len(stored) == N
    assert sorted(r.log for r in stored) == sorted(f"run {i}" for i in range(N))
    assert [t.name for t in await tasks(sessions)] == ["job-0", "job-1", "job-2"]


async def test_one_bad_ping_in_a_batch_fails_alone(
    writer: PingWriter, sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    # A service deleted after its token was cached: creating its task breaks the foreign key.
    gone = Ping(service_id + 1000, "backup", "success", utcnow())
    good = [Ping(service_id, "backup", "success", utcnow(), log=str(i)) for i in range(30)]
    results = await asyncio.gather(
        *(writer.submit(p) for p in [*good[:15], gone, *good[15:]]), return_exceptions=True
    )
    assert [type(r) for r in results].count(PingNotStored) == 1
    assert isinstance(results[15], PingNotStored)
    assert sorted(int(r.log) for r in await runs(sessions)) == list(range(30))


async def test_auto_create_stops_at_the_per_service_cap(
    writer: PingWriter, sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    for name in ("a", "b", "c"):
        await writer.submit(Ping(service_id, name, "success", utcnow()))
    with pytest.raises(UnknownTask):
        await writer.submit(Ping(service_id, "d", "success", utcnow()))
    assert len(await tasks(sessions)) == 3


async def test_stop_writes_what_is_queued_then_refuses(
    sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    writer = make_writer(sessions, max_log_bytes=100)
    await writer.start()
    pending = [
        asyncio.ensure_future(writer.submit(Ping(service_id, "x", "success", utcnow())))
        for _ in range(20)
    ]
    await asyncio.sleep(0)
    await writer.stop()
    await asyncio.gather(*pending)
    assert len(await runs(sessions)) == 20
    with pytest.raises(WriterUnavailable):
        await writer.submit(Ping(service_id, "x", "success", utcnow()))
