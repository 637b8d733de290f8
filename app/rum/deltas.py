"""What the accumulator hands to the aggregate writer: one row's worth of increments.

The contract between ingest (``app.rum.accumulator``) and storage (``app.rum.aggregates``)::

    async def write_deltas(sessions, deltas: Sequence[VitalsDelta], *, now: datetime) -> None

adds each delta to the row keyed by ``(site_id, day, page, device, metric)`` (an upsert
that sums every count column by column). It is all-or-nothing: when it raises, the
accumulator keeps the deltas and merges them into the next flush.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from app.rum.histogram import BUCKETS, bucket_index, rate

DEVICES = ("mobile", "tablet", "desktop", "unknown")
"""Device classes, from the viewport width (mobile < 768 <= tablet < 1024 <= desktop)."""

OTHER_PAGE = "(other)"
"""The page every view beyond a site's daily page cap counts as."""

MAX_PAGE_LENGTH = 200
"""Longest canonical page stored (characters); longer paths are cut to this length."""


@dataclass(slots=True)
class VitalsDelta:
    """Increments for one ``(site_id, day, page, device, metric)`` aggregate row.

    ``n == good + ni + poor == sum(buckets)``; ``len(buckets) == BUCKETS``; ``day`` is the
    UTC date the server received the events on; ``page`` is canonical (at most
    ``MAX_PAGE_LENGTH`` characters, or ``OTHER_PAGE``); ``device`` is one of ``DEVICES``;
    ``metric`` is one of ``histogram.METRICS``.
    """

    site_id: int
    day: datetime.date
    page: str
    device: str
    metric: str
    n: int
    good: int
    ni: int
    poor: int
    value_sum: float
    buckets: list[int]

    @classmethod
    def empty(
        cls, *, site_id: int, day: datetime.date, page: str, device: str, metric: str
    ) -> VitalsDelta:
        """A delta with every count at zero."""
        return cls(site_id, day, page, device, metric, 0, 0, 0, 0, 0.0, [0] * BUCKETS)

    def count(self, value: float) -> None:
        """Count one event of this delta's metric: rated and bucketed here, by the server."""
        self.n += 1
        rating = rate(self.metric, value)
        if rating == "good":
            self.good += 1
        elif rating == "poor":
            self.poor += 1
        else:
            self.ni += 1
        self.value_sum += value
        self.buckets[bucket_index(self.metric, value)] += 1

    def merge(self, other: VitalsDelta) -> None:
        """Add ``other``'s counts (same key) to this delta."""
        self.n += other.n
        self.good += other.good
        self.ni += other.ni
        self.poor += other.poor
        self.value_sum += other.value_sum
        buckets = self.buckets
        for index, count in enumerate(other.buckets):
            if count:
                buckets[index] += count
