"""The scheduler lease: one replica runs jobs; when it stops, another takes over in one TTL."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient

import app.scheduler as scheduler_module
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


def _scheduled_settings(db_url: str, ttl: float = TTL) -> Settings:
    return make_settings(db_url, scheduler=SchedulerSettings(enabled=True, lease_ttl_seconds=ttl))


async def _wait_for(predicate, limit: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > limit:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _no_release(*_args: object, **_kwargs: object) -> None:
    """Stands in for lease.release: a replica that dies never gives its lease back."""


async def test_two_app_instances_run_jobs_once_and_fail_over(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = {"a": 0, "b": 0}
    apps = {name: create_app(_scheduled_settings(db_url)) for name in runs}
    for name, app in apps.items():

        async def job(name: str = name) -> None:
            runs[name] += 1

        app.state.scheduler.add_job(job, job_id="count", seconds=0.2)

    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(AsyncTestClient(app))
            for name, app in apps.items()
        }
        await _wait_for(lambda: runs["a"] + runs["b"] >= 5, limit=5)
        leaders = [name for name in runs if apps[name].state.scheduler.is_leader]
        assert len(leaders) == 1
        leader, follower = leaders[0], "b" if leaders == ["a"] else "a"
        assert runs[follower] == 0
        assert (await clients[follower].get("/readyz")).status_code == 200

        # The leader dies without releasing the lease: the follower waits out the TTL.
        monkeypatch.setattr(scheduler_module.lease, "release", _no_release)
        await clients[leader].__aexit__(None, None, None)
        monkeypatch.undo()
        runs_of_dead_leader = runs[leader]
        waited = await _wait_for(lambda: runs[follower] > 0, limit=TTL + 2)
        assert waited <= TTL + 1.5
        assert apps[follower].state.scheduler.is_leader
        assert runs[leader] == runs_of_dead_leader


async def test_graceful_shutdown_hands_the_lease_over_before_the_ttl(db_url: str) -> None:
    ttl = 9.0  # heartbeat every 3 s: a takeover before 4.5 s cannot come from expiry
    first = create_app(_scheduled_settings(db_url, ttl))
    second = create_app(_scheduled_settings(db_url, ttl))
    first_client = AsyncTestClient(first)
    await first_client.__aenter__()
    await _wait_for(lambda: first.state.scheduler.is_leader, limit=3)
    async with AsyncTestClient(second):
        await asyncio.sleep(0.5)
        assert not second.state.scheduler.is_leader
        await first_client.__aexit__(None, None, None)
        waited = await _wait_for(lambda: second.state.scheduler.is_leader, limit=ttl)
        assert waited < ttl / 2
