"""The dispatcher: claims due outbox rows, sends them, records the outcome.

Claiming is one compare-and-set ``UPDATE`` per batch: a row is taken only if it is still
``pending`` (or ``sending`` with an expired claim) and due, and the claim moves
``next_attempt_at`` to the claim's end, so two replicas (PostgreSQL re-checks the
condition on the row it waited for) never hold the same row at once. A replica killed
mid-send leaves a ``sending`` row that is due again when its claim expires: delivery is
at least once, and receivers drop repeats by the idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import NotifySettings
from app.db.base import utcnow
from app.notify import kinds
from app.notify.backoff import retry_delay_seconds
from app.notify.delivery import DeliveryError
from app.notify.models import Channel, OutboxEntry
from app.notify.payload import from_row
from app.telemetry import VigilMetrics

log = logging.getLogger(__name__)

CLAIM_MARGIN_SECONDS = 30.0
"""A claim lasts the delivery timeout plus this; then another dispatcher may take the row."""
BATCH_SIZE = 50
MAX_BATCHES_PER_RUN = 20
CONCURRENT_SENDS = 8
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row this dispatcher holds until ``claimed_until``."""

    id: int
    channel_id: int
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    claimed_until: datetime


@dataclass(slots=True)
class DispatchResult:
    """What one run did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    lost_claims: int = 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: str  # sent | pending | dead
    error: str | None = None
    next_attempt_at: datetime | None = None


class Dispatcher:
    """Sends due notifications; ``holder`` names this replica in claimed rows."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotifySettings,
        *,
        holder: str,
        metrics: VigilMetrics | None = None,
        jitter: Callable[[], float] = random.random,
        batch_size: int = BATCH_SIZE,
        claim_seconds: float | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self.holder = holder[:100]
        self._metrics = metrics
        self._jitter = jitter
        self._batch_size = batch_size
        self._claim_seconds = (
            claim_seconds
            if claim_seconds is not None
            else settings.timeout_seconds + CLAIM_MARGIN_SECONDS
        )

    async def run(self) -> DispatchResult:
        """Send the rows due when it starts, batch after batch (a row failing now waits
        for its backoff, i.e. a later run); bounded, so one run never runs forever."""
        result = DispatchResult()
        started = utcnow()
        for _ in range(MAX_BATCHES_PER_RUN):
            claimed = await self.claim(now=started)
            await self.deliver(claimed, result)
            if not claimed:
                break
        return result

    async def claim(self, *, now: datetime) -> list[Claimed]:
        """Take up to one batch of rows due at ``now`` (compare-and-set); commits.

        Empty only when nothing is due: rows another dispatcher took first are replaced
        by a fresh look (PostgreSQL skips rows locked by a concurrent claim anyway).
        """
        for _ in range(MAX_BATCHES_PER_RUN):
            found, claimed = await self._claim_once(now=now)
            if claimed or not found:
                return claimed
        return []

    async def _claim_once(self, *, now: datetime) -> tuple[int, list[Claimed]]:
        claimed_until = utcnow() + timedelta(seconds=self._claim_seconds)
        due = (OutboxEntry.status.in_(("pending", "sending")), OutboxEntry.next_attempt_at <= now)
        async with self._sessions.begin() as session:
            candidates = (
                await session.scalars(
                    select(OutboxEntry.id)
                    .where(*due)
                    .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not candidates:
                return 0, []
            rows = await session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id.in_(candidates), *due)
                .values(
                    status="sending",
                    claimed_by=self.holder,
                    claimed_until=claimed_until,
                    next_attempt_at=claimed_until,
                    attempts=OutboxEntry.attempts + 1,
                )
                .returning(
                    OutboxEntry.id,
                    OutboxEntry.channel_id,
                    OutboxEntry.idempotency_key,
                    OutboxEntry.payload,
                    OutboxEntry.attempts,
                )
                .execution_options(synchronize_session=False)
            )
            return len(candidates), sorted(
                (
                    Claimed(
                        id=row.id,
                        channel_id=row.channel_id,
                        idempotency_key=row.idempotency_key,
                        payload=row.payload,
                        attempts=row.attempts,
                        claimed_until=claimed_until,
                    )
                    for row in rows
                ),
                key=lambda c: c.id,
            )

    async def deliver(self, claimed: Sequence[Claimed], result: DispatchResult) -> None:
        """Send the claimed rows (a few at a time) and record each outcome."""
        if not claimed:
            return
        async with self._sessions() as session:
            ids = {c.channel_id for c in claimed}
            channels = {
                c.id: c for c in await session.scalars(select(Channel).where(Channel.id.in_(ids)))
            }
        gate = asyncio.Semaphore(CONCURRENT_SENDS)

        async def one(row: Claimed) -> None:
            async with gate:
                channel = channels.get(row.channel_id)
                outcome = await self._attempt(row, channel)
                await self._record(row, outcome, result)

        await asyncio.gather(*(one(row) for row in claimed))

    async def _attempt(self, row: Claimed, channel: Channel | None) -> _Outcome:
        if channel is None:
            return _Outcome("dead", "the channel was deleted")
        if not channel.enabled:
            return _Outcome("dead", "the channel is disabled")
        try:
            config = kinds.parse_config(channel.kind, channel.config)
        except kinds.ConfigProblem as exc:
            return self._failed(row, channel, f"channel config: {exc}", permanent=True)
        timeout = self._settings.timeout_seconds
        try:
            async with asyncio.timeout(timeout + 1):
                await kinds.send(
                    channel.kind,
                    config,
                    from_row(row.payload),
                    key=row.idempotency_key,
                    timeout_seconds=timeout,
                )
        except DeliveryError as exc:
            return self._failed(row, channel, str(exc), permanent=exc.permanent)
        except TimeoutError:
            return self._failed(row, channel, f"no answer within {timeout:g} s", permanent=False)
        except Exception as exc:  # a bug must not leave the row claimed again and again
            log.exception("notification delivery crashed", extra={"outbox_id": row.id})
            return self._failed(
                row, channel, f"unexpected error ({type(exc).__name__})", permanent=False
            )
        self._count(channel.kind, "sent")
        return _Outcome("sent")

    def _failed(self, row: Claimed, channel: Channel, error: str, *, permanent: bool) -> _Outcome:
        self._count(channel.kind, "failed")
        give_up = permanent or row.attempts >= self._settings.max_attempts
        log.warning(
            "notification %s",
            "given up" if give_up else "failed, will retry",
            extra={
                "outbox_id": row.id,
                "channel_id": channel.id,
                "channel_kind": channel.kind,
                "attempts": row.attempts,
                "error": error,
            },
        )
        if give_up:
            return _Outcome("dead", error)
        delay = retry_delay_seconds(
            row.attempts,
            base=self._settings.backoff_base_seconds,
            cap=self._settings.backoff_max_seconds,
            jitter=self._jitter(),
        )
        return _Outcome("pending", error, next_attempt_at=utcnow() + timedelta(seconds=delay))

    def _count(self, kind: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.notifications.labels(channel_kind=kind, outcome=outcome).inc()

    async def _record(self, row: Claimed, outcome: _Outcome, result: DispatchResult) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "status": outcome.status,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": outcome.error[:MAX_ERROR_LENGTH] if outcome.error else None,
        }
        if outcome.status == "sent":
            values |= {"sent_at": now, "next_attempt_at": now}
        elif outcome.status == "pending":
            values["next_attempt_at"] = outcome.next_attempt_at or now
        async with self._sessions.begin() as session:
            done = await session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id == row.id,
                    OutboxEntry.status == "sending",
                    OutboxEntry.claimed_by == self.holder,
                    OutboxEntry.claimed_until == row.claimed_until,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            # Our claim expired and another dispatcher took the row: it decides now.
            result.lost_claims += 1
            log.warning("notification claim lost", extra={"outbox_id": row.id})
            return
        if outcome.status == "sent":
            result.sent += 1
        elif outcome.status == "pending":
            result.retried += 1
        else:
            result.dead += 1
