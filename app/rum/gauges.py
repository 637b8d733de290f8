"""Leader job: each site's p75 of every Core Web Vital today (UTC), as Prometheus gauges.

``vigil_rum_web_vital_p75{site,metric}`` (seconds; CLS unitless, as Prometheus prefers
base units) and ``vigil_rum_web_vital_samples{site,metric}``, where ``site`` is the site's
key (as in ``vigil_rum_events_total``). Read from ``rum_site_daily`` every
``GAUGE_INTERVAL_SECONDS``, every device class together: the same window and p75 as the
``web_vital_p75`` alert signal with ``window_days: 1``, so Prometheus rules and Grafana see
what the Web Vitals page shows. A site without samples today has no series.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.rum.models import COUNTER_COLUMNS, Site, SiteDaily
from app.rum.queries import Totals, p75_of
from app.scheduler import LeaderScheduler
from app.telemetry import VigilMetrics

GAUGE_JOB_ID: Final = "rum.web_vital_gauges"
GAUGE_INTERVAL_SECONDS: Final = 30.0
UNITLESS: Final = frozenset({"CLS"})
"""Metrics exported as they are stored; the others are milliseconds, exported in seconds."""

_DAILY = SiteDaily.__table__
_SITES = Site.__table__

Key = tuple[str, str]
"""(site key, metric)"""


def web_vital_values(rows: Iterable[Sequence[Any]]) -> dict[Key, tuple[float, int]]:
    """``(p75 in the gauge's unit, samples)`` per (site, metric) from ``(site, metric,
    *counters)`` rows, device classes added together; metrics without samples left out."""
    totals: dict[Key, Totals] = {}
    for row in rows:
        totals.setdefault((row[0], row[1]), Totals()).add(row[2:])
    values = {}
    for (site, metric), total in totals.items():
        p75 = p75_of(metric, total.buckets)
        if p75 is None or not total.n:
            continue
        values[site, metric] = (p75 if metric in UNITLESS else p75 / 1000, total.n)
    return values


async def read_today(
    sessions: async_sessionmaker[AsyncSession], *, today: date
) -> dict[Key, tuple[float, int]]:
    """Today's p75 and samples of every site and metric (one indexed read of today's rows)."""
    query = (
        select(_SITES.c.key, _DAILY.c.metric, *(_DAILY.c[name] for name in COUNTER_COLUMNS))
        .join(_SITES, _SITES.c.id == _DAILY.c.site_id)
        .where(_DAILY.c.day == today)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return web_vital_values(rows)


class WebVitalGauges:
    """Sets the two gauges from :func:`read_today` and removes series that went away."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], metrics: VigilMetrics) -> None:
        self._sessions = sessions
        self._metrics = metrics
        self._shown: set[Key] = set()

    async def refresh(self, *, today: date | None = None) -> int:
        """Read today's (UTC) values and export them; returns the number of series shown."""
        values = await read_today(self._sessions, today=today or utcnow().date())
        p75_gauge = self._metrics.rum_web_vital_p75
        samples_gauge = self._metrics.rum_web_vital_samples
        for site, metric in self._shown - values.keys():
            for gauge in (p75_gauge, samples_gauge):
                # already gone if this replica stopped leading meanwhile
                with contextlib.suppress(KeyError):
                    gauge.remove(site, metric)
        for (site, metric), (p75, samples) in values.items():
            p75_gauge.labels(site=site, metric=metric).set(p75)
            samples_gauge.labels(site=site, metric=metric).set(samples)
        self._shown = set(values)
        return len(values)


def register_gauge_job(
    scheduler: LeaderScheduler,
    sessions: async_sessionmaker[AsyncSession],
    metrics: VigilMetrics,
) -> None:
    """Refresh the Web Vitals gauges on the leader every ``GAUGE_INTERVAL_SECONDS``."""
    gauges = WebVitalGauges(sessions, metrics)
    scheduler.add_job(gauges.refresh, job_id=GAUGE_JOB_ID, seconds=GAUGE_INTERVAL_SECONDS)
