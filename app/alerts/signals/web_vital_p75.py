"""``web_vital_p75``: the p75 of a Core Web Vital over 1, 7 or 30 days, per site or one page.

Reads what the Web Vitals page reads, so a rule and the page agree: a whole site's p75 from
the daily site rows (``rum_site_daily``, every device), one page's from its pre-built window
(``rum_page_windows``, device ``all``, the window ending today, or yesterday until today's
build has run), with ``app.rum.queries.p75_of``. A site or page with fewer than
``min_samples`` samples has no series. Labels: ``site``, ``metric`` (and ``page``); values
in the metric's unit (milliseconds, CLS unitless).

Rules on the same metric and window share one query per tick for every site; a page rule
is one primary-key lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Final, Literal

import msgspec
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.signals.base import ParamsError, Sample, SignalContext
from app.rum.models import (
    ALL_DEVICES,
    COUNTER_COLUMNS,
    PageWindow,
    Site,
    SiteDaily,
    WindowBuild,
)
from app.rum.queries import Totals, p75_of

KIND: Final = "web_vital_p75"
_DAILY: Any = SiteDaily.__table__
_WINDOWS: Any = PageWindow.__table__
_BUILDS: Any = WindowBuild.__table__

_SITE_TOTALS: Final = (
    select(_DAILY.c.site_id, Site.name, *(func.sum(_DAILY.c[name]) for name in COUNTER_COLUMNS))
    .join(Site, Site.id == _DAILY.c.site_id)
    .where(
        _DAILY.c.metric == bindparam("metric"),
        _DAILY.c.day >= bindparam("first"),
        _DAILY.c.day <= bindparam("last"),
    )
    .group_by(_DAILY.c.site_id, Site.name)
)
"""Every site's summed counters of one metric over a range of days."""
_PAGE_WINDOW: Final = (
    select(Site.name, *(_WINDOWS.c[name] for name in COUNTER_COLUMNS))
    .join(Site, Site.id == _WINDOWS.c.site_id)
    .where(
        _WINDOWS.c.site_id == bindparam("site_id"),
        _WINDOWS.c.window_end == bindparam("window_end"),
        _WINDOWS.c.range_days == bindparam("range_days"),
        _WINDOWS.c.device == ALL_DEVICES,
        _WINDOWS.c.page == bindparam("page"),
        _WINDOWS.c.metric == bindparam("metric"),
    )
)
"""One page's window row (its primary key)."""
_LATEST_BUILD: Final = select(func.max(_BUILDS.c.window_end)).where(
    _BUILDS.c.site_id == bindparam("site_id"),
    _BUILDS.c.window_end <= bindparam("today"),
    _BUILDS.c.window_end >= bindparam("yesterday"),
)


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    metric: Literal["LCP", "INP", "CLS", "FCP", "TTFB"]
    site_id: int | None = None
    """None: every site, one series each."""
    page: str | None = None
    """One page's p75 (needs ``site_id``); None: the whole site."""
    window_days: Literal[1, 7, 30] = 1
    """UTC days ending today (1 = today since 00:00 UTC), as on the Web Vitals page."""
    min_samples: Annotated[int, msgspec.Meta(ge=1)] = 50


class WebVitalP75:
    kind = KIND
    params_type = Params

    def check(self, params: Params) -> None:
        if params.page is not None and params.site_id is None:
            raise ParamsError("page", "a page needs a site (site_id)")
        if params.page is not None and not params.page.startswith("/"):
            raise ParamsError("page", "expected a path starting with /")

    async def evaluate(
        self, session: AsyncSession, params: Params, ctx: SignalContext
    ) -> Sequence[Sample]:
        if params.page is not None and params.site_id is not None:
            found = await _page_totals(session, params.site_id, params, ctx)
            totals = {params.site_id: found} if found is not None else {}
        else:
            totals = await _site_totals(session, params, ctx)
        samples = []
        for site_id, (site, total) in sorted(totals.items(), key=lambda item: item[1][0]):
            if params.site_id is not None and site_id != params.site_id:
                continue
            p75 = p75_of(params.metric, total.buckets) if total.n >= params.min_samples else None
            if p75 is None:
                continue
            labels = {"site": site, "metric": params.metric}
            if params.page is not None:
                labels["page"] = params.page
            samples.append(Sample(labels, p75))
        return samples


async def _site_totals(
    session: AsyncSession, params: Params, ctx: SignalContext
) -> dict[int, tuple[str, Totals]]:
    """Every site's totals of the metric over the window, once per tick."""
    key = (KIND, params.metric, params.window_days)
    cached: dict[int, tuple[str, Totals]] | None = ctx.cache.get(key)
    if cached is None:
        today = ctx.now.date()
        first = today - timedelta(days=params.window_days - 1)
        rows = await session.execute(
            _SITE_TOTALS, {"metric": params.metric, "first": first, "last": today}
        )
        cached = {}
        for site_id, name, *counters in rows.all():
            totals = Totals()
            totals.add(counters)
            cached[site_id] = (name, totals)
        ctx.cache[key] = cached
    return cached


async def _page_totals(
    session: AsyncSession, site_id: int, params: Params, ctx: SignalContext
) -> tuple[str, Totals] | None:
    window_end = await _window_end(session, site_id, params.window_days, ctx)
    if window_end is None:
        return None
    row = (
        await session.execute(
            _PAGE_WINDOW,
            {
                "site_id": site_id,
                "window_end": window_end,
                "range_days": params.window_days,
                "page": params.page,
                "metric": params.metric,
            },
        )
    ).first()
    if row is None:
        return None
    totals = Totals()
    totals.add(row[1:])
    return row[0], totals


async def _window_end(
    session: AsyncSession, site_id: int, range_days: int, ctx: SignalContext
) -> date | None:
    """Today, or yesterday until today's windows are built (None before any build), as the
    Web Vitals page reads them; a one-day window is always today's."""
    today = ctx.now.date()
    if range_days == 1:
        return today
    key = (KIND, "window_end", site_id)
    if key not in ctx.cache:
        built = await session.scalar(
            _LATEST_BUILD,
            {"site_id": site_id, "today": today, "yesterday": today - timedelta(days=1)},
        )
        ctx.cache[key] = built if isinstance(built, date) else None
    end: date | None = ctx.cache[key]
    return end


SIGNAL: Final = WebVitalP75()
