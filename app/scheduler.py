"""APScheduler on the replica that holds the database lease.

Every replica runs a short *heartbeat* job that takes or renews the lease; jobs added with
:meth:`LeaderScheduler.add_job` run only while this replica is the leader. A leader that
cannot renew stops running jobs once its own copy of the lease expires, so two replicas
never both believe they lead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import SchedulerSettings
from app.db import lease
from app.db.base import utcnow
from app.telemetry import VigilMetrics, track_task
from app.telemetry.tasks import TaskRun

LEASE_NAME = "scheduler"
SHUTDOWN_WAIT_SECONDS = 5.0
"""How long shutdown waits for cancelled job runs to finish (record their run, roll back)."""
log = logging.getLogger(__name__)

JobFunc = Callable[[], Awaitable[object]]


class JobRecorder(Protocol):
    """Stores a finished run of a job (e.g. as a task run: ``app.tasks.job_runs``)."""

    async def __call__(self, run: TaskRun, *, interval_seconds: float) -> None: ...


def make_holder_id() -> str:
    """A name for this replica that is unique and still readable in the leases table."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderScheduler:
    """Runs jobs on one replica at a time; see the module docstring."""

    def __init__(
        self,
        settings: SchedulerSettings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        holder_id: str | None = None,
        metrics: VigilMetrics | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.holder_id = holder_id or make_holder_id()
        self._sessions = sessions
        self._metrics = metrics
        self._tracer = tracer
        # APScheduler logs every job added and every run at INFO; runs are measured by
        # track_task instead.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._ttl = timedelta(seconds=settings.lease_ttl_seconds)
        self._leader_until = 0.0  # time.monotonic() when our own view of the lease ends
        self._was_leader = False
        self.last_heartbeat: float | None = None  # time.monotonic() of the last heartbeat
        self._running: set[asyncio.Task[None]] = set()
        """Job runs in progress; shutdown waits for them after cancelling them."""
        self.job_recorder: JobRecorder | None = None
        """Called after each job run (not the heartbeat), if set."""

    @property
    def is_leader(self) -> bool:
        """True while this replica holds an unexpired lease."""
        return time.monotonic() < self._leader_until

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between lease renewals: a third of the TTL."""
        return self.settings.lease_ttl_seconds / 3

    def add_job(self, func: JobFunc, *, job_id: str, seconds: float) -> None:
        """Run ``func`` every ``seconds`` on the leader; never two runs of it at once.

        Each run is measured as job ``job_id`` (span, runs by status, duration) and handed to
        :attr:`job_recorder`; a run that fails is logged and counted, and the next one runs
        on schedule.
        """

        async def record(run: TaskRun) -> None:
            if self.job_recorder is not None:
                await self.job_recorder(run, interval_seconds=seconds)

        async def run_if_leader() -> None:
            if not self.is_leader:
                return
            current = asyncio.current_task()
            running = {current} if current is not None else set()
            self._running |= running
            try:
                async with track_task(
                    job_id, metrics=self._metrics, tracer=self._tracer, on_finish=record
                ):
                    await func()
            except Exception:
                log.exception("job failed", extra={"job": job_id})
            finally:
                self._running -= running

        self._scheduler.add_job(
            run_if_leader,
            "interval",
            seconds=seconds,
            id=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(seconds)),
        )

    def start(self) -> None:
        """Start the heartbeat (first one at once) and the jobs."""
        self._scheduler.add_job(
            self.heartbeat,
            "interval",
            seconds=self.heartbeat_interval,
            id="scheduler.heartbeat",
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),
        )
        self._scheduler.start()

    async def heartbeat(self) -> None:
        """Take or renew the lease; called by the scheduler, callable from tests."""
        started = time.monotonic()
        try:
            held = await lease.try_acquire(
                self._sessions,
                name=LEASE_NAME,
                holder=self.holder_id,
                ttl=self._ttl,
                now=utcnow(),
            )
        except Exception:
            log.exception("scheduler lease renewal failed", extra={"holder": self.holder_id})
            held = False
            if self.is_leader:
                return  # keep leading until our own copy of the lease runs out
        self._leader_until = started + self._ttl.total_seconds() if held else 0.0
        self.last_heartbeat = time.monotonic()
        if self._metrics is not None:
            self._metrics.scheduler_last_heartbeat.set_to_current_time()
        self._note_leadership(held)

    def _note_leadership(self, leader: bool) -> None:
        if leader != self._was_leader:
            log.info(
                "scheduler leadership %s",
                "acquired" if leader else "lost",
                extra={"holder": self.holder_id},
            )
            self._was_leader = leader
        if self._metrics is not None:
            self._metrics.set_leader(leader)

    async def shutdown(self) -> None:
        """Stop jobs and hand the lease over at once."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)  # cancels the runs in progress
        if self._running:  # let them record their cancelled run while the database is there
            await asyncio.wait(set(self._running), timeout=SHUTDOWN_WAIT_SECONDS)
        if self._was_leader:
            self._leader_until = 0.0
            try:
                await lease.release(
                    self._sessions, name=LEASE_NAME, holder=self.holder_id, now=utcnow()
                )
            except Exception:
                log.warning("could not release the scheduler lease; it expires by itself")
            self._note_leadership(False)
