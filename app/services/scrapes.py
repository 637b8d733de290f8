"""The latest scrape of each service's ``/metrics``, kept in memory only.

Prometheus is the time-series store; Vigil keeps just the last samples of each service for
the service page and for alert rules on scraped metrics. One :class:`ScrapeStore` lives on
``app.state.scrapes``; readers call :meth:`ScrapeStore.latest`.

    >>> store = ScrapeStore()
    >>> store.latest(1) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client.samples import Sample


@dataclass(frozen=True, slots=True)
class Scrape:
    """One scrape: its samples (at most the per-service bound) or the reason it failed."""

    service_id: int
    scraped_at: datetime
    samples: tuple[Sample, ...]
    series_dropped: int
    """Series over the per-service bound, not kept."""
    error: str | None
    """None when the scrape and parse succeeded."""


class ScrapeStore:
    """The latest :class:`Scrape` per service id (written by the leader's scrape job)."""

    def __init__(self) -> None:
        self._latest: dict[int, Scrape] = {}

    def latest(self, service_id: int) -> Scrape | None:
        """The most recent scrape of the service, or None if it was never scraped."""
        return self._latest.get(service_id)

    def put(self, scrape: Scrape) -> None:
        """Replace the service's latest scrape."""
        self._latest[scrape.service_id] = scrape

    def forget(self, service_id: int) -> None:
        """Drop a service's scrape (it was deleted or no longer has a metrics path)."""
        self._latest.pop(service_id, None)
