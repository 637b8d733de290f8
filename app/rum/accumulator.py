"""Web Vitals counted in memory and written to the database every few seconds.

Ingest adds each accepted event to a row keyed by ``(site_id, day, page, device, metric)``;
:meth:`Accumulator.flush` swaps the rows out (no await between reading and replacing the
dict, so no event lands in a batch being written) and hands them to the aggregate writer
(``app.rum.aggregates.write_deltas``). Every replica runs its own accumulator and flushes on
its own; rows from several replicas add up in the database.

Nothing accepted is lost: a flush that fails keeps its deltas and merges them into the
next one. What is kept that way is capped (``max_retained_rows``) so a long database
outage cannot exhaust memory; rows beyond the cap are dropped and reported to
``on_dropped`` (ingest counts them in ``vigil_rum_events_total{outcome="dropped"}``).

The page cap (at most N distinct pages per site and day, the rest count as ``(other)``)
is kept per process: each replica admits the first N pages *it* sees, so with several
replicas, or after a restart, a site can store a few more than N pages for a day. The
cap bounds storage; it is not exact.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from app.rum.deltas import OTHER_PAGE, VitalsDelta

log = logging.getLogger(__name__)

MAX_RETAINED_ROWS: Final = 200_000
"""Rows kept from failed flushes (about 1 KB each); rows beyond it are dropped and counted."""

Key = tuple[int, datetime.date, str, str, str]


class DeltaWriter(Protocol):
    """Writes a batch of deltas, all or nothing (``write_deltas`` bound to its sessions)."""

    async def __call__(self, deltas: Sequence[VitalsDelta], *, now: datetime.datetime) -> None:
        """Add ``deltas`` to the aggregate rows; raise if nothing was written."""


class Accumulator:
    """In-memory sums of accepted Web Vitals, per aggregate row.

    >>> acc = Accumulator()
    >>> day = datetime.date(2026, 11, 2)
    >>> acc.add(site_id=1, day=day, page="/", device="mobile", metric="LCP", value=2100.0)
    >>> [(d.page, d.n, d.good) for d in acc.take()]
    [('/', 1, 1)]
    """

    def __init__(
        self,
        *,
        max_retained_rows: int = MAX_RETAINED_ROWS,
        on_dropped: Callable[[VitalsDelta], None] | None = None,
    ) -> None:
        self.max_retained_rows = max_retained_rows
        self._on_dropped = on_dropped
        self._rows: dict[Key, VitalsDelta] = {}
        self._retained: dict[Key, VitalsDelta] = {}
        self._pages: dict[tuple[int, datetime.date], set[str]] = {}
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ ingest side

    def admit_page(self, *, site_id: int, day: datetime.date, page: str, cap: int) -> str:
        """``page`` if it is among the first ``cap`` pages of the site's day, else (other)."""
        seen = self._pages.get((site_id, day))
        if seen is None:
            for old in [key for key in self._pages if key[1] < day]:
                del self._pages[old]
            seen = self._pages[(site_id, day)] = set()
        if page in seen:
            return page
        if len(seen) >= cap:
            return OTHER_PAGE
        seen.add(page)
        return page

    def add(
        self,
        *,
        site_id: int,
        day: datetime.date,
        page: str,
        device: str,
        metric: str,
        value: float,
    ) -> None:
        """Count one event; the rating and bucket are computed here, never taken from input."""
        key = (site_id, day, page, device, metric)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = VitalsDelta.empty(
                site_id=site_id, day=day, page=page, device=device, metric=metric
            )
        row.count(value)

    # ------------------------------------------------------------------ flush side

    @property
    def pending_events(self) -> int:
        """Events counted but not yet written (including those kept from failed flushes)."""
        return sum(d.n for d in self._rows.values()) + sum(d.n for d in self._retained.values())

    def take(self) -> list[VitalsDelta]:
        """Every pending delta (kept ones merged in), leaving the accumulator empty."""
        rows, self._rows = self._rows, {}
        merged, self._retained = self._retained, {}
        for key, delta in rows.items():
            kept = merged.get(key)
            if kept is None:
                merged[key] = delta
            else:
                kept.merge(delta)
        return list(merged.values())

    def give_back(self, deltas: Sequence[VitalsDelta]) -> None:
        """Keep ``deltas`` (a batch that could not be written) for the next flush, capped."""
        retained = self._retained
        for delta in deltas:
            key = (delta.site_id, delta.day, delta.page, delta.device, delta.metric)
            kept = retained.get(key)
            if kept is not None:
                kept.merge(delta)
            elif len(retained) < self.max_retained_rows:
                retained[key] = delta
            elif self._on_dropped is not None:
                self._on_dropped(delta)

    async def flush(self, write: DeltaWriter, *, now: datetime.datetime) -> int:
        """Write what is pending; return the events written (0 on failure, deltas kept)."""
        async with self._lock:
            deltas = self.take()
            if not deltas:
                return 0
            try:
                await write(deltas, now=now)
            except Exception:
                events = sum(d.n for d in deltas)
                log.warning(
                    "RUM flush failed; %d events in %d rows kept for the next flush",
                    events,
                    len(deltas),
                    exc_info=True,
                )
                self.give_back(deltas)
                return 0
            return sum(d.n for d in deltas)
