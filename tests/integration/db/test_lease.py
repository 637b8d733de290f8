"""The scheduler lease: one replica runs jobs; when it stops, another takes over in one TTL."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from litestar.testing import AsyncTestClient

from app.config import SchedulerSettings, Settings
from app.db import lease
from app.db.base import utcnow
from app.main import create_app
from tests.conftest import make_settings

TTL = 3.0


async def test_only_one_holder_gets_an_unexpired_lease(sessions) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    ttl = timedelta(seconds=TTL)
    assert await lease.try_acquire(sessions, name="x", holder="a", ttl=ttl, now=now)
    assert not await lease.try_acquire(sessions, name="x", holder="b", ttl=ttl, now=now)
    assert await lease.try_acquire(sessions, name="x", holder="a", ttl=ttl, now=now)  # renew
    later = now + ttl + timedelta(seconds=1)
    assert await lease.try_acquire(sessions, name="x", holder="b", ttl=ttl, now=later)
    assert not await lease.try_acquire(sessions, name="x", holder="a", ttl=ttl, now=later)


async def test_released_lease_is_free_at_once(sessions) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    ttl = timedelta(seconds=TTL)
    assert await lease.try_acquire(sessions, name="x", holder="a", ttl=ttl, now=now)
    await lease.release(sessions, name="x", holder="a", now=now)
    assert await lease.try_acquire(sessions, name="x", holder="b", ttl=ttl, now=now)


def _scheduled_settings(db_url: str) -> Settings:
    return make_settings(db_url, scheduler=SchedulerSettings(enabled=True, lease_ttl_seconds=TTL))


async def _wait_for(predicate, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_two_app_instances_run_jobs_once_and_fail_over(db_url: str) -> None:
    runs = {"a": 0, "b": 0}
    apps = {name: create_app(_scheduled_settings(db_url)) for name in runs}
    for name, app in apps.items():

        async def job(name: str = name) -> None:
            runs[name] += 1

        app.state.scheduler.add_job(job, job_id="count", seconds=0.2)

    async with AsyncTestClient(apps["a"]), AsyncTestClient(apps["b"]) as client_b:
        await _wait_for(lambda: runs["a"] + runs["b"] >= 5, timeout=5)
        leaders = [name for name in runs if apps[name].state.scheduler.is_leader]
        assert len(leaders) == 1
        follower = "b" if leaders == ["a"] else "a"
        assert runs[follower] == 0
        assert (await client_b.get("/readyz")).status_code == 200

        # The leader dies without releasing the lease: its heartbeat and jobs just stop.
        leader = apps[leaders[0]].state.scheduler
        leader._scheduler.shutdown(wait=False)
        leader._leader_until = 0.0
        waited = await _wait_for(lambda: runs[follower] > 0, timeout=TTL + 2)
        assert waited <= TTL + 1.5
        assert apps[follower].state.scheduler.is_leader


async def test_graceful_shutdown_hands_the_lease_over_at_once(db_url: str) -> None:
    first = create_app(_scheduled_settings(db_url))
    second = create_app(_scheduled_settings(db_url))
    async with AsyncTestClient(first):
        await _wait_for(lambda: first.state.scheduler.is_leader, timeout=3)
        async with AsyncTestClient(second):
            await asyncio.sleep(0.3)
            assert not second.state.scheduler.is_leader
            # leaving the first app's block below would stop it; stop it here instead
            await first.state.scheduler.shutdown()
            await second.state.scheduler.heartbeat()
            assert second.state.scheduler.is_leader
