"""RUM pages: the sites (everyone reads, admins edit) and the Web Vitals dashboard."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from app.auth.principal import is_admin, requires_admin
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import IdPath
from app.rum import queries, sites, views
from app.rum.ingest import reload_site_cache
from app.rum.models import Site
from app.rum.views import SiteForm
from app.ui.notices import query_notice
from app.ui.routes import page

SITES_PATH = "/vitals/sites"
PAGES_SHOWN = 100
"""Rows of the pages table (the most viewed, or the worst for a metric sort)."""

RangeDays = Literal[1, 7, 30]
Device = Literal["all", "mobile", "tablet", "desktop"]
PageSort = Literal["views", "LCP", "INP", "CLS", "FCP", "TTFB"]


def _public_url(state: State) -> str:
    url: str = state.settings.server.public_url
    return url.rstrip("/")


def _tags(state: State, rows: list[Site]) -> dict[int, str]:
    public_url = _public_url(state)
    return {site.id: sites.beacon_tag(public_url=public_url, site=site) for site in rows}


async def _sites_page(
    request: Request[Any, Any, Any],
    state: State,
    *,
    form: SiteForm | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    rows = await sites.list_sites(app_sessions(state))
    return page(
        request,
        "pages/rum_sites.html",
        sites=rows,
        can_edit=is_admin(request),
        form=form or SiteForm(),
        error=error,
        public_url=_public_url(state),
        status_code=status_code,
    )


@get(SITES_PATH, include_in_schema=False)
async def sites_page(request: Request[Any, Any, Any], state: State) -> Template:
    """Every site with its key; admins also get the form for a new one."""
    return await _sites_page(request, state)


@post(SITES_PATH, include_in_schema=False, guards=[requires_admin], status_code=303)
async def create_site_form(
    request: Request[Any, Any, Any], state: State, data: URLEncodedBody[SiteForm]
) -> Template | Redirect:
    """Create a site and show its tag; bad input re-shows the form with the reason."""
    try:
        name, origins, sample_rate, page_cap = data.parsed()
        site = await sites.create_site(
            app_sessions(state),
            name=name,
            allowed_origins=origins,
            sample_rate=sample_rate,
            page_cap=page_cap,
        )
    except sites.SiteError as exc:
        return await _sites_page(request, state, form=data, error=str(exc), status_code=400)
    await reload_site_cache(state)
    return Redirect(path=f"{SITES_PATH}/{site.id}?created=1", status_code=303)


async def _site_or_404(state: State, site_id: int) -> Site:
    site = await sites.get_site(app_sessions(state), site_id=site_id)
    if site is None:
        raise NotFoundException(detail=f"no site with id {site_id}")
    return site


def _site_page(
    request: Request[Any, Any, Any],
    state: State,
    site: Site,
    *,
    form: SiteForm | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    public_url = _public_url(state)
    notice = {
        "created": "Site created. Paste the tag below into every page of the site.",
        "saved": "Changes saved.",
        "rekeyed": "New key generated: pages with the old tag are refused from now on. "
        "Update the tag on your site.",
    }
    return page(
        request,
        "pages/rum_site.html",
        site=site,
        tag=sites.beacon_tag(public_url=public_url, site=site),
        endpoint=sites.endpoint_url(public_url=public_url, key=site.key),
        can_edit=is_admin(request),
        form=form or SiteForm.of(site),
        error=error,
        notice=query_notice(request, notice),
        status_code=status_code,
    )


@get(f"{SITES_PATH}/{{site_id:int}}", include_in_schema=False)
async def site_page(request: Request[Any, Any, Any], state: State, site_id: IdPath) -> Template:
    """One site: the tag to paste, its settings, and (admins) the edit form."""
    return _site_page(request, state, await _site_or_404(state, site_id))


@post(
    f"{SITES_PATH}/{{site_id:int}}",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def update_site_form(
    request: Request[Any, Any, Any],
    state: State,
    site_id: IdPath,
    data: URLEncodedBody[SiteForm],
) -> Template | Redirect:
    """Save the site's settings; bad input re-shows the form with the reason."""
    site = await _site_or_404(state, site_id)
    try:
        name, origins, sample_rate, page_cap = data.parsed()
        await sites.update_site(
            app_sessions(state),
            site_id=site_id,
            name=name,
            allowed_origins=origins,
            sample_rate=sample_rate,
            page_cap=page_cap,
        )
    except sites.SiteNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    except sites.SiteError as exc:
        return _site_page(request, state, site, form=data, error=str(exc), status_code=400)
    await reload_site_cache(state)
    return Redirect(path=f"{SITES_PATH}/{site_id}?saved=1", status_code=303)


@post(
    f"{SITES_PATH}/{{site_id:int}}/regenerate-key",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def regenerate_key_form(state: State, site_id: IdPath) -> Redirect:
    """Give the site a new key and show the new tag."""
    try:
        await sites.regenerate_key(app_sessions(state), site_id=site_id)
    except sites.SiteNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    await reload_site_cache(state)
    return Redirect(path=f"{SITES_PATH}/{site_id}?rekeyed=1", status_code=303)


@post(
    f"{SITES_PATH}/{{site_id:int}}/delete",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def delete_site_form(state: State, site_id: IdPath) -> Redirect:
    """Delete the site and go back to the list."""
    if not await sites.delete_site(app_sessions(state), site_id=site_id):
        raise NotFoundException(detail=f"no site with id {site_id}")
    await reload_site_cache(state)
    return Redirect(path=SITES_PATH, status_code=303)


@get("/vitals", include_in_schema=False)
async def vitals(
    request: Request[Any, Any, Any],
    state: State,
    site_id: Annotated[int | None, QueryParameter(name="site")] = None,
    range_days: Annotated[RangeDays, QueryParameter(name="range")] = views.DEFAULT_RANGE,
    device: Annotated[Device, QueryParameter()] = "all",
    sort: Annotated[PageSort, QueryParameter()] = "views",
) -> Template:
    """p75 per metric with its rating split, the daily trend and the pages of one site."""
    rows = await sites.list_sites(app_sessions(state))
    site = next((s for s in rows if s.id == site_id), None) if site_id is not None else None
    if site_id is not None and site is None:
        raise NotFoundException(detail=f"no site with id {site_id}")
    site = site or (rows[0] if rows else None)
    context: dict[str, Any] = {
        "sites": views.site_choices(rows, site.id if site else None),
        "site": site,
        "can_edit": is_admin(request),
        "ranges": views.range_choices(range_days),
        "devices": views.device_choices(device),
        "range_label": views.RANGE_LABELS[range_days],
        "device_label": views.DEVICE_LABELS[device],
    }
    if site is None:
        return page(request, "pages/vitals.html", **context)
    today = utcnow().date()
    sessions = app_sessions(state)
    summary = await queries.site_summary(
        sessions, site_id=site.id, range_days=range_days, device=device, today=today
    )
    trend = await queries.daily_trend(
        sessions, site_id=site.id, range_days=range_days, device=device, today=today
    )
    table = await queries.pages_table(
        sessions,
        site_id=site.id,
        range_days=range_days,
        device=device,
        today=today,
        sort=sort,
        limit=PAGES_SHOWN,
    )
    query = {"site": str(site.id), "range": str(range_days), "device": device}
    return page(
        request,
        "pages/vitals.html",
        **context,
        tag=sites.beacon_tag(public_url=_public_url(state), site=site),
        empty=summary.empty,
        period=views.period_text(summary.first_day, summary.last_day),
        cards=views.metric_cards(summary),
        charts=views.trend_charts(trend) if range_days > 1 else [],
        pages=views.page_lines(table),
        total_pages=table.total_pages,
        pages_as_of=table.as_of if table.as_of != today else None,
        sort_links=views.sort_links(query=query, current=sort),
        metrics=views.METRIC_NAMES,
    )


rum_page_routes = [
    vitals,
    sites_page,
    create_site_form,
    site_page,
    update_site_form,
    regenerate_key_form,
    delete_site_form,
]
"""Route handlers of the RUM pages."""
