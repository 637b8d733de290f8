"""Ping intake: ping token → service (cached), per-token rate limit, hand-off to the writer."""

from __future__ import annotations

import time
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import TasksSettings
from app.rum.ratelimit import TokenBucket
from app.services.models import Service
from app.tasks.pings import Ping
from app.tasks.transactions import Transactions
from app.tasks.writer import PingWriter, TaskDefaults

TOKEN_TTL_SECONDS: Final = 30.0
"""How long a token → service lookup is trusted: a regenerated token stops working within it."""
UNKNOWN_TTL_SECONDS: Final = 5.0
MAX_CACHED: Final = 10_000


class ServiceTokens:
    """Ping token → service id, from the ``services`` table with a short in-memory cache."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._cache: dict[str, tuple[int | None, float]] = {}

    async def service_id(self, token: str, *, now: float) -> int | None:
        """The id of the service whose ping token is ``token``, or None."""
        if "\x00" in token:
            return None  # no stored token has one (PostgreSQL text cannot hold NUL)
        cached = self._cache.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._sessions() as session:
            found = await session.scalar(select(Service.id).where(Service.ping_token == token))
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()  # unknown tokens from a scanner must not grow it without bound
        ttl = TOKEN_TTL_SECONDS if found is not None else UNKNOWN_TTL_SECONDS
        self._cache[token] = (found, now + ttl)
        return found


class TokenRateLimiter:
    """One token bucket per service (only known tokens get one, so they stay few)."""

    def __init__(self, *, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[int, TokenBucket] = {}

    def take(self, service_id: int, *, now: float) -> int | None:
        """None if the service's token may ping now, else whole seconds to wait."""
        bucket = self._buckets.get(service_id)
        if bucket is None:
            bucket = TokenBucket(rate=self.rate, burst=self.burst, now=now)
            self._buckets[service_id] = bucket
        return bucket.take(now=now)


class PingIngest:
    """Everything the ping route needs: settings, token lookup, rate limit, writer."""

    def __init__(
        self,
        settings: TasksSettings,
        sessions: async_sessionmaker[AsyncSession],
        transactions: Transactions,
    ) -> None:
        self.settings = settings
        self.tokens = ServiceTokens(sessions)
        self.limiter = TokenRateLimiter(
            rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst
        )
        self.writer = PingWriter(
            transactions,
            defaults=TaskDefaults(
                auto_create=settings.auto_create,
                period_seconds=settings.default_period_seconds,
                grace_seconds=settings.default_grace_seconds,
                max_run_seconds=settings.default_max_run_seconds,
                max_per_service=settings.max_tasks_per_service,
            ),
            max_log_bytes=settings.max_log_bytes,
            max_batch=settings.max_batch,
        )

    @property
    def max_log_bytes(self) -> int:
        return self.settings.max_log_bytes

    async def start(self) -> None:
        await self.writer.start()

    async def stop(self) -> None:
        """Store what is queued, then stop."""
        await self.writer.stop()

    async def service_id(self, token: str) -> int | None:
        return await self.tokens.service_id(token, now=time.monotonic())

    def rate_limited(self, service_id: int) -> int | None:
        """None if allowed, else seconds to wait."""
        return self.limiter.take(service_id, now=time.monotonic())

    async def store(self, ping: Ping) -> None:
        """Store ``ping`` durably (see :class:`PingWriter`)."""
        await self.writer.submit(ping)
