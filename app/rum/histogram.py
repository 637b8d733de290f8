"""Fixed log-scale histograms for Web Vitals, mergeable by adding counts column by column.

Bucket 0 holds values below the metric's ``low`` edge; bucket ``i >= 1`` holds
``[low * GROWTH**(i-1), low * GROWTH**i)``; the last bucket is open-ended. A quantile is
reported as the geometric middle of the bucket its rank falls in, so for any distribution
it is within ``sqrt(GROWTH) - 1`` (4.9 %) of the exact value, unless it falls in the first
or last bucket (below 4 ms / 0.001 CLS, or above ~50 s / ~12.5 CLS).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Literal

Metric = Literal["LCP", "INP", "CLS", "FCP", "TTFB"]
Rating = Literal["good", "needs-improvement", "poor"]

METRICS: Final[tuple[Metric, ...]] = ("LCP", "INP", "CLS", "FCP", "TTFB")
BUCKETS: Final = 100
GROWTH: Final = 1.1
_LOG_GROWTH: Final = math.log(GROWTH)

LOW: Final[dict[str, float]] = {"LCP": 4.0, "INP": 4.0, "FCP": 4.0, "TTFB": 4.0, "CLS": 0.001}
"""Lower edge of bucket 1, per metric (milliseconds; CLS is unitless)."""

THRESHOLDS: Final[dict[str, tuple[float, float]]] = {
    "LCP": (2500, 4000),
    "INP": (200, 500),
    "CLS": (0.1, 0.25),
    "FCP": (1800, 3000),
    "TTFB": (800, 1800),
}
"""(good up to, poor above) per metric, as web.dev defines them."""


def rate(metric: str, value: float) -> Rating:
    """good / needs-improvement / poor for one value."""
    good, poor = THRESHOLDS[metric]
    if value <= good:
        return "good"
    return "poor" if value > poor else "needs-improvement"


def bucket_index(metric: str, value: float) -> int:
    """The bucket ``value`` of ``metric`` is counted in."""
    low = LOW[metric]
    if value < low:
        return 0
    return min(BUCKETS - 1, 1 + int(math.log(value / low) / _LOG_GROWTH))


def bucket_bounds(metric: str, index: int) -> tuple[float, float]:
    """``[lower, upper)`` of bucket ``index`` (the last one's upper bound is infinite)."""
    low = LOW[metric]
    if index == 0:
        return 0.0, low
    upper = math.inf if index == BUCKETS - 1 else low * GROWTH**index
    return low * GROWTH ** (index - 1), upper


def quantile(metric: str, counts: Sequence[int], q: float = 0.75) -> float | None:
    """The ``q`` quantile estimated from bucket ``counts``; None when there is no sample."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return _representative(metric, index)
    return _representative(metric, len(counts) - 1)


def _representative(metric: str, index: int) -> float:
    lower, upper = bucket_bounds(metric, index)
    if index == 0:
        return lower + (upper - lower) / 2
    if math.isinf(upper):
        return lower
    return math.sqrt(lower * upper)
