"""Beacon ingest logic: which site, may it send, what to count; no per-beacon database query.

:class:`RumIngest` holds what the route needs in memory:

* a cache of sites by key (:class:`SiteDirectory`), reloaded in the background every
  ``SITE_REFRESH_SECONDS`` and on a miss at most once per ``SITE_MISS_RELOAD_SECONDS``,
  so unknown keys (typos, scanners) cost at most one small query per few seconds;
* per-site token buckets (:mod:`app.rum.ratelimit`);
* the :class:`~app.rum.accumulator.Accumulator`, flushed every
  ``rum.flush_interval_seconds`` by a task started in the app's lifespan (on every
  replica) and once more on shutdown;
* ``vigil_rum_events_total{site,metric,outcome}`` children, bound once. Accepted events
  are counted per metric; a beacon rejected before its events are decoded is counted once
  with ``metric="unknown"``; ``site`` is the key of a known site, else ``unknown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import importlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from sqlalchemy import select

from app.config import BOT_USER_AGENTS, RumSettings
from app.db.base import utcnow
from app.rum.accumulator import Accumulator
from app.rum.canonical import canonical_page, device_class
from app.rum.deltas import VitalsDelta
from app.rum.models import Site
from app.rum.ratelimit import SiteRateLimiter
from app.rum.schemas import Beacon

if TYPE_CHECKING:
    from litestar.datastructures import State
    from prometheus_client import Counter
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

SITE_REFRESH_SECONDS: Final = 30.0
"""How often the site cache is reloaded (new origins, page caps, deleted sites)."""
SITE_MISS_RELOAD_SECONDS: Final = 5.0
"""Least time between two reloads caused by an unknown key (negative caching)."""
SHUTDOWN_FLUSH_ATTEMPTS: Final = 3
"""Flushes tried on shutdown before pending events are given up (and logged)."""

MAX_REMEMBERED_USER_AGENTS: Final = 10_000
"""User agents whose bot verdict is cached (the regex costs ~50 µs on a long UA)."""

UNKNOWN: Final = "unknown"

Outcome = Literal[
    "accepted",
    "bot",
    "rate_limited",
    "invalid",
    "too_large",
    "unsupported_media_type",
    "forbidden_origin",
    "unknown_site",
    "dropped",
]


@dataclass(frozen=True, slots=True)
class KnownSite:
    """What ingest needs of a site, cached in memory."""

    id: int
    key: str
    origins: frozenset[str]
    any_origin: bool
    page_cap: int

    def allows_origin(self, origin: str) -> bool:
        """True if a browser on ``origin`` may send beacons (``*`` in the list allows any)."""
        return self.any_origin or normalise_origin(origin) in self.origins


def normalise_origin(origin: str) -> str:
    """``HTTPS://Shop.example.com/`` → ``https://shop.example.com``."""
    return origin.strip().rstrip("/").lower()


class SitesUnavailable(Exception):
    """The site is not cached and the database could not be asked: answer 503, not 404."""


class SiteDirectory:
    """Sites by key, loaded whole from the database (sites are few).

    Known sites keep being served from the cache while the database is down.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._by_key: dict[str, KnownSite] = {}
        self._by_id: dict[int, KnownSite] = {}
        self._loaded_at = -float("inf")
        self._reload_failed = False
        self._lock = asyncio.Lock()

    def cached(self, key: str) -> KnownSite | None:
        return self._by_key.get(key)

    def key_of(self, site_id: int) -> str:
        site = self._by_id.get(site_id)
        return site.key if site is not None else UNKNOWN

    async def get(self, key: str) -> KnownSite | None:
        """The site with ``key``; a miss reloads at most once per ``SITE_MISS_RELOAD_SECONDS``."""
        site = self._by_key.get(key)
        if site is not None:
            return site
        async with self._lock:
            if time.monotonic() - self._loaded_at >= SITE_MISS_RELOAD_SECONDS:
                try:
                    await self.reload()
                except Exception as exc:
                    raise SitesUnavailable from exc
        if self._reload_failed:
            raise SitesUnavailable
        return self._by_key.get(key)

    async def reload(self) -> None:
        """Replace the cache with the sites in the database (kept as it was on error)."""
        self._loaded_at = time.monotonic()  # also on failure: a down DB is not hammered
        self._reload_failed = True
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Site.id, Site.key, Site.allowed_origins, Site.page_cap)
                )
            ).all()
        sites = []
        for site_id, key, allowed, page_cap in rows:
            origins = frozenset(normalise_origin(o) for o in allowed or () if isinstance(o, str))
            sites.append(KnownSite(site_id, key, origins, "*" in origins, page_cap))
        self._by_key = {site.key: site for site in sites}
        self._by_id = {site.id: site for site in sites}
        self._reload_failed = False


def is_bot(user_agent: str, *, pattern: re.Pattern[str] | None = None) -> bool:
    """True if ``user_agent`` looks like a crawler or a synthetic/headless browser."""
    return (pattern or _BOT_PATTERN).search(user_agent) is not None


def bot_pattern(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_BOT_PATTERN: Final = bot_pattern(BOT_USER_AGENTS)
"""The default crawler patterns, for :func:`is_bot` without settings."""


class RumIngest:
    """The ingest state of one process; see the module docstring."""

    def __init__(
        self,
        settings: RumSettings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        events_counter: Counter,
        limiter: SiteRateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.max_body_bytes = settings.max_body_bytes
        self.sessions = sessions
        self.sites = SiteDirectory(sessions)
        self.limiter = limiter or SiteRateLimiter(
            rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst
        )
        self.accumulator = Accumulator(on_dropped=self._count_dropped)
        self._events = events_counter
        self._children: dict[tuple[str, str, str], Counter] = {}
        self._bots = bot_pattern(settings.bot_user_agents)
        self._bot_verdicts: dict[str, bool] = {}
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ per beacon

    def count(self, site: str, metric: str, outcome: Outcome, amount: int = 1) -> None:
        """Add ``amount`` to ``vigil_rum_events_total{site,metric,outcome}``."""
        key = (site, metric, outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._events.labels(site, metric, outcome)
        child.inc(amount)

    def is_bot(self, user_agent: str) -> bool:
        """:func:`is_bot`, remembered per user agent (few distinct ones, each seen often)."""
        known = self._bot_verdicts.get(user_agent)
        if known is None:
            if len(self._bot_verdicts) >= MAX_REMEMBERED_USER_AGENTS:
                self._bot_verdicts.clear()
            known = self._bot_verdicts[user_agent] = is_bot(user_agent, pattern=self._bots)
        return known

    def accept(self, site: KnownSite, beacon: Beacon, *, now: datetime.datetime) -> int:
        """Count the beacon's events for today's row of its page and device; return how many."""
        day = now.date()
        accumulator = self.accumulator
        page = accumulator.admit_page(
            site_id=site.id, day=day, page=canonical_page(beacon.page), cap=site.page_cap
        )
        device = device_class(beacon.vw)
        for event in beacon.events:
            accumulator.add(
                site_id=site.id,
                day=day,
                page=page,
                device=device,
                metric=event.name,
                value=event.value,
            )
            self.count(site.key, event.name, "accepted")
        return len(beacon.events)

    def _count_dropped(self, delta: VitalsDelta) -> None:
        self.count(self.sites.key_of(delta.site_id), delta.metric, "dropped", delta.n)

    # ------------------------------------------------------------------ lifecycle

    async def write(self, deltas: Sequence[VitalsDelta], *, now: datetime.datetime) -> None:
        """``app.rum.aggregates.write_deltas`` with this app's sessions."""
        aggregates = importlib.import_module("app.rum.aggregates")
        await aggregates.write_deltas(self.sessions, deltas, now=now)

    async def flush(self) -> int:
        """Write pending events now; the number written (0 if none or on failure)."""
        return await self.accumulator.flush(self.write, now=utcnow())

    async def start(self) -> None:
        """Load the sites (best effort) and start flushing in the background."""
        with contextlib.suppress(Exception):
            await self.sites.reload()
        self._task = asyncio.create_task(self._run(), name="rum-accumulator")

    async def stop(self) -> None:
        """Stop the background task and write everything pending (a few tries)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for attempt in range(SHUTDOWN_FLUSH_ATTEMPTS):
            await self.flush()
            if self.accumulator.pending_events == 0:
                return
            await asyncio.sleep(0.2 * (attempt + 1))
        log.error(
            "RUM: %d accepted events could not be written on shutdown",
            self.accumulator.pending_events,
        )

    async def _run(self) -> None:
        interval = self.settings.flush_interval_seconds
        next_reload = time.monotonic() + SITE_REFRESH_SECONDS
        while True:
            await asyncio.sleep(interval)
            await self.flush()
            if time.monotonic() >= next_reload:
                next_reload = time.monotonic() + SITE_REFRESH_SECONDS
                try:
                    await self.sites.reload()
                except Exception:
                    log.warning("RUM: site cache reload failed; keeping the old one", exc_info=True)


async def reload_site_cache(state: State) -> None:
    """After a site changed through this replica, its ingest cache follows at once: a tag
    pasted right after creating the site is served, not refused as unknown for a few
    seconds (other replicas catch up within ``SITE_REFRESH_SECONDS``)."""
    ingest: RumIngest = state.rum
    try:
        await ingest.sites.reload()
    except Exception:  # the change is committed; the periodic refresh will pick it up
        log.warning("RUM: site cache reload after a change failed", exc_info=True)
