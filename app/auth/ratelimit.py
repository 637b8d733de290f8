"""A sliding-window rate limiter for login attempts, kept in this process's memory.

Each replica counts on its own, so N replicas allow at most N times the limit: a cap on
password guessing, not a quota.
"""

from __future__ import annotations

import math
from collections import deque

MAX_TRACKED_KEYS = 10_000


class SlidingWindowLimiter:
    """At most ``limit`` hits per ``window_seconds`` for each key.

    >>> limiter = SlidingWindowLimiter(limit=2, window_seconds=60)
    >>> limiter.hit("10.0.0.1", now=0.0), limiter.hit("10.0.0.1", now=1.0)
    (None, None)
    >>> limiter.hit("10.0.0.1", now=2.0)  # seconds until the first hit leaves the window
    58
    """

    def __init__(self, *, limit: int, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, *, now: float) -> int | None:
        """Count one attempt; None if allowed, else whole seconds until one is allowed."""
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= MAX_TRACKED_KEYS:
                self._forget_idle(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window_seconds - now))
        hits.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        cutoff = now - self.window_seconds
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[key]
