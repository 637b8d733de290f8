"""Jobs of the services domain, run by the scheduler leader: due health checks and scrapes.

Every ``services.job_interval_seconds`` the leader claims the enabled services whose
``next_check_at`` has come (compare-and-set on that column, so a second run or a second
leader cannot claim the same check twice), checks them with bounded concurrency, scrapes the
ones with a metrics path, and stores each result in its own short transaction. One failing
service (or a failing write) is logged and counted; it never stops the others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import ServicesSettings
from app.db.base import utcnow
from app.scheduler import LeaderScheduler
from app.services.checks import CheckTarget, check, make_client
from app.services.models import Service
from app.services.scraper import scrape
from app.services.scrapes import ScrapeStore
from app.services.transitions import record_check
from app.telemetry import VigilMetrics

CHECK_JOB_ID: Final = "services.check_due"
MAX_CLAIMED_PER_RUN: Final = 1000
"""Most checks one run claims; the rest stay due for the next run."""

log = logging.getLogger(__name__)


async def claim_due(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, limit: int = MAX_CLAIMED_PER_RUN
) -> list[CheckTarget]:
    """Move the ``next_check_at`` of due enabled services one interval ahead and return them.

    The move is a compare-and-set on the old value: a service claimed by another run is
    skipped, so running this twice at once checks nothing twice.
    """
    async with sessions.begin() as session:
        due = (
            await session.execute(
                select(Service.id, Service.next_check_at, Service.interval_seconds)
                .where(Service.enabled.is_(True), Service.next_check_at <= now)
                .order_by(Service.next_check_at)
                .limit(limit)
            )
        ).all()
        claimed = []
        for service_id, next_check_at, interval in due:
            moved = await session.execute(
                update(Service)
                .where(Service.id == service_id, Service.next_check_at == next_check_at)
                .values(next_check_at=now + timedelta(seconds=interval))
            )
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(service_id)
        if not claimed:
            return []
        services = await session.scalars(select(Service).where(Service.id.in_(claimed)))
        return [CheckTarget.of(service) for service in services]


async def run_due_checks(
    sessions: async_sessionmaker[AsyncSession],
    *,
    settings: ServicesSettings,
    scrapes: ScrapeStore,
    metrics: VigilMetrics | None = None,
    client: httpx.AsyncClient | None = None,
) -> int:
    """Check (and scrape) every due service; returns how many were checked.

    Each run uses a fresh client unless one is given, so every check opens its own
    connection and its latency includes connecting, as a user's first request would.
    """
    targets = await claim_due(sessions, now=utcnow())
    if not targets:
        return 0
    if client is None:
        async with make_client(
            allow_link_local=settings.allow_link_local, user_agent=settings.user_agent
        ) as own_client:
            return await _check_all(own_client, sessions, targets, settings, scrapes, metrics)
    return await _check_all(client, sessions, targets, settings, scrapes, metrics)


async def _check_all(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    targets: Sequence[CheckTarget],
    settings: ServicesSettings,
    scrapes: ScrapeStore,
    metrics: VigilMetrics | None,
) -> int:
    limit = asyncio.Semaphore(settings.check_concurrency)

    async def one(target: CheckTarget) -> bool:
        async with limit:
            try:
                await _check_one(client, sessions, target, settings, scrapes, metrics)
            except Exception:
                log.exception("service check failed", extra={"service": target.name})
                return False
            return True

    done = await asyncio.gather(*(one(target) for target in targets))
    return sum(done)


async def _check_one(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    target: CheckTarget,
    settings: ServicesSettings,
    scrapes: ScrapeStore,
    metrics: VigilMetrics | None,
) -> None:
    result = await check(client, target, now=utcnow())
    async with sessions.begin() as session:
        service = await session.get(Service, target.service_id, with_for_update=True)
        if service is None or not service.enabled:
            return  # deleted or paused while it was being checked: the result is moot
        step = await record_check(session, service, result)
    if metrics is not None:
        metrics.service_checks.labels(result=result.error or "ok").inc()
    if step.changed:
        log.info(
            "service %s is %s: %s",
            target.name,
            step.health.state,
            step.reason,
            extra={"service": target.name},
        )
    if target.metrics_url is None:
        scrapes.forget(target.service_id)
        return
    scraped = await scrape(
        client,
        target,
        now=utcnow(),
        max_series=settings.max_series_per_service,
        max_bytes=settings.max_scrape_bytes,
    )
    scrapes.put(scraped)
    if metrics is not None:
        metrics.service_scrapes.labels(outcome="ok" if scraped.error is None else "error").inc()
        if scraped.series_dropped:
            metrics.service_scrape_series_dropped.labels(service=target.name).inc(
                scraped.series_dropped
            )
    if scraped.error is not None:
        log.warning(
            "scrape of service %s failed: %s",
            target.name,
            scraped.error,
            extra={"service": target.name},
        )


def register_jobs(
    scheduler: LeaderScheduler,
    sessions: async_sessionmaker[AsyncSession],
    settings: ServicesSettings,
    scrapes: ScrapeStore,
    metrics: VigilMetrics | None = None,
) -> None:
    """Add the services jobs to the leader's scheduler."""
    scheduler.add_job(
        functools.partial(
            run_due_checks, sessions, settings=settings, scrapes=scrapes, metrics=metrics
        ),
        job_id=CHECK_JOB_ID,
        seconds=settings.job_interval_seconds,
    )
