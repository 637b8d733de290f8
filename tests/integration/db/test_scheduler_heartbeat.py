"""vigil_scheduler_last_heartbeat_timestamp_seconds: what the "scheduler stalled" alert reads."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry

from app.config import SchedulerSettings
from app.scheduler import LeaderScheduler
from app.telemetry import VigilMetrics


async def test_each_heartbeat_sets_the_timestamp_and_leadership(sessions) -> None:  # type: ignore[no-untyped-def]
    metrics = VigilMetrics(CollectorRegistry())
    first = LeaderScheduler(SchedulerSettings(), sessions, holder_id="a", metrics=metrics)
    assert (
        metrics.registry.get_sample_value("vigil_scheduler_last_heartbeat_timestamp_seconds") == 0
    )

    before = time.time()
    await first.heartbeat()

    stamp = metrics.registry.get_sample_value("vigil_scheduler_last_heartbeat_timestamp_seconds")
    assert stamp is not None
    assert before <= stamp <= time.time()
    assert metrics.registry.get_sample_value("vigil_scheduler_leader") == 1

    # A second replica's heartbeat completes too (timestamp set) without the lease.
    other = VigilMetrics(CollectorRegistry())
    second = LeaderScheduler(SchedulerSettings(), sessions, holder_id="b", metrics=other)
    await second.heartbeat()
    assert other.registry.get_sample_value("vigil_scheduler_last_heartbeat_timestamp_seconds")
    assert other.registry.get_sample_value("vigil_scheduler_leader") == 0
    await first.shutdown()
