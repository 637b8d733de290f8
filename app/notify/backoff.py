"""When a failed notification is tried again: exponential backoff with jitter, capped."""

from __future__ import annotations

JITTER = 0.2
"""Each wait is spread ±20 % so that rows failing together do not retry together."""


def retry_delay_seconds(attempts: int, *, base: float, cap: float, jitter: float) -> float:
    """Wait after the ``attempts``-th failed try: ``base * 2**(attempts-1)``, at most ``cap``.

    ``jitter`` is a random number in [0, 1) that spreads the wait by ±JITTER.
    """
    exponent = min(max(attempts - 1, 0), 62)
    delay = min(cap, base * 2.0**exponent)
    return min(cap, delay * (1 - JITTER + 2 * JITTER * jitter))
