"""Per-site token buckets for beacon ingest, kept in this process's memory.

Each replica limits on its own, so N replicas accept up to N times the rate: a guard
against one site (or someone replaying its public key) flooding the appliance, not a quota.
"""

from __future__ import annotations

import math
from typing import Final

RATE_PER_SECOND: Final = 500.0
"""Beacons per second one site may send to one replica, sustained."""
BURST: Final = 1000.0
"""Beacons one site may send at once after being idle."""


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; a beacon takes one.

    >>> bucket = TokenBucket(rate=1, burst=2, now=0.0)
    >>> bucket.take(now=0.0), bucket.take(now=0.0), bucket.take(now=0.0)
    (None, None, 1)
    >>> bucket.take(now=1.0)
    """

    __slots__ = ("_tokens", "_updated", "burst", "rate")

    def __init__(self, *, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = now

    def take(self, *, now: float) -> int | None:
        """Take a token: None if one was there, else whole seconds until one will be."""
        tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return None
        self._tokens = tokens
        return max(1, math.ceil((1.0 - tokens) / self.rate))


class SiteRateLimiter:
    """One :class:`TokenBucket` per site id (sites are few, so buckets are never evicted)."""

    def __init__(self, *, rate: float = RATE_PER_SECOND, burst: float = BURST) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[int, TokenBucket] = {}

    def take(self, site_id: int, *, now: float) -> int | None:
        """None if site ``site_id`` may send a beacon now, else seconds to wait."""
        bucket = self._buckets.get(site_id)
        if bucket is None:
            bucket = self._buckets[site_id] = TokenBucket(rate=self.rate, burst=self.burst, now=now)
        return bucket.take(now=now)
