"""Readiness checks: the database answers, its schema is current, the scheduler is alive."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import migrate
from app.scheduler import LeaderScheduler

DB_TIMEOUT_SECONDS = 2.0


async def failing_checks(engine: AsyncEngine, scheduler: LeaderScheduler | None) -> list[str]:
    """Names and reasons of the checks that fail; empty when Vigil is ready."""
    failures: list[str] = []
    try:
        async with asyncio.timeout(DB_TIMEOUT_SECONDS):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            if not await migrate.is_at_head(engine):
                failures.append("migrations: database schema is not at the latest revision")
    except Exception as exc:  # any failure to talk to the database means not ready
        failures.append(f"database: {type(exc).__name__}")
    if scheduler is not None:
        failures.extend(scheduler_failures(scheduler, now=time.monotonic()))
    return failures


def scheduler_failures(scheduler: LeaderScheduler, *, now: float) -> list[str]:
    """The scheduler is stale when no heartbeat ran within one lease TTL."""
    beat = scheduler.last_heartbeat
    if beat is None or now - beat > scheduler.settings.lease_ttl_seconds:
        return ["scheduler: no heartbeat within the lease TTL"]
    return []
