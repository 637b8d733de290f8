"""Jobs of the alerts domain, run by the scheduler leader: rule evaluation (which creates the
default rules on its first run) and the tables retention purges."""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.defaults import ensure_default_rules
from app.alerts.evaluator import Evaluator, TickReport
from app.alerts.models import AlertSeries, AlertTransition
from app.alerts.signals.base import ScrapeReader
from app.config import Settings
from app.db.retention import RetentionTarget
from app.scheduler import LeaderScheduler
from app.telemetry import VigilMetrics

EVALUATION_JOB_ID: Final = "alerts.evaluate"
log = logging.getLogger(__name__)


class EvaluationJob:
    """One evaluation tick per run; the first run creates the default rules if asked to."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        evaluator: Evaluator,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._evaluator = evaluator
        self._defaults_checked = not settings.alerts.create_default_rules

    async def run(self) -> TickReport:
        if not self._defaults_checked:
            async with self._sessions.begin() as session:
                created = await ensure_default_rules(session)
            if created:
                log.info("default alert rules created", extra={"rules": created})
            self._defaults_checked = True
        return await self._evaluator.tick()


def retention_targets() -> list[RetentionTarget]:
    """Alert history and series inactive for longer than ``retention.days``."""
    transitions = AlertTransition.__table__
    series = AlertSeries.__table__
    return [
        RetentionTarget(transitions, transitions.c.at),
        RetentionTarget(series, series.c.resolved_at),
    ]


def register_jobs(
    scheduler: LeaderScheduler,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    metrics: VigilMetrics | None = None,
    scrapes: ScrapeReader | None = None,
) -> EvaluationJob:
    """Add rule evaluation to the leader's scheduler (every ``alerts.eval_interval_seconds``)."""
    evaluator = Evaluator(sessions, settings, metrics=metrics, scrapes=scrapes)
    job = EvaluationJob(sessions, settings, evaluator)
    scheduler.add_job(
        job.run, job_id=EVALUATION_JOB_ID, seconds=settings.alerts.eval_interval_seconds
    )
    return job
