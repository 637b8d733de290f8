"""Readiness: a scheduler whose heartbeat is older than one lease TTL is not ready."""

from __future__ import annotations

from app.config import SchedulerSettings
from app.health.readiness import scheduler_failures
from app.scheduler import LeaderScheduler


def _scheduler(last_heartbeat: float | None) -> LeaderScheduler:
    scheduler = LeaderScheduler(SchedulerSettings(lease_ttl_seconds=30), sessions=None)  # type: ignore[arg-type]
    scheduler.last_heartbeat = last_heartbeat
    return scheduler


def test_scheduler_that_never_beat_is_not_ready() -> None:
    assert scheduler_failures(_scheduler(None), now=100.0)


def test_recent_heartbeat_is_ready() -> None:
    assert scheduler_failures(_scheduler(95.0), now=100.0) == []


def test_heartbeat_older_than_the_ttl_is_not_ready() -> None:
    assert scheduler_failures(_scheduler(60.0), now=100.0) == [
        "scheduler: no heartbeat within the lease TTL"
    ]
