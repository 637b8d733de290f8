"""Services pages: the list, a service's page (history, state changes, scraped metrics) and
the admin forms (register, edit, re-token, delete). Viewers read; admins edit."""

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
from app.services import queries, registry, views
from app.services.api import ping_url
from app.services.models import Service
from app.services.views import ServiceForm
from app.ui.notices import query_notice
from app.ui.routes import page

SERVICES_PATH = "/services"
RECENT_CHECKS = 20
STATE_CHANGES = 50
MAX_FILTER_LENGTH = 200

RangeKey = Literal["24h", "7d", "30d"]
NOTICES = {
    "created": "Service registered. Its first check runs within a few seconds.",
    "saved": "Changes saved.",
    "retokened": "New ping token generated: pings with the old one are refused from now on. "
    "Update the ping URLs of this service's tasks.",
}


def _latest_scrape(state: State, service_id: int) -> views.ScrapeLike | None:
    scrape: views.ScrapeLike | None = state.scrapes.latest(service_id)
    return scrape


async def _service_or_404(state: State, service_id: int) -> Service:
    service = await registry.get_service(app_sessions(state), service_id=service_id)
    if service is None:
        raise NotFoundException(detail=f"no service with id {service_id}")
    return service


def _form_page(
    request: Request[Any, Any, Any],
    *,
    form: ServiceForm,
    service: Service | None = None,
    error: registry.ServiceError | None = None,
) -> Template:
    return page(
        request,
        "pages/service_form.html",
        form=form,
        service=service,
        error=str(error) if error else None,
        error_field=error.field if error else None,
        action=f"{SERVICES_PATH}/{service.id}" if service else SERVICES_PATH,
        status_code=400 if error else 200,
    )


@get(SERVICES_PATH, include_in_schema=False)
async def services_page(request: Request[Any, Any, Any], state: State) -> Template:
    """Every service with its state, uptime, p95 latency and last / next check."""
    sessions = app_sessions(state)
    now = utcnow()
    rows = await registry.list_services(sessions)
    health = await queries.service_health(sessions, now=now) if rows else {}
    return page(
        request,
        "pages/services.html",
        services=views.service_rows(rows, health, now=now),
        can_edit=is_admin(request),
        windows=list(views.WINDOW_LABELS.values()),
    )


@get(f"{SERVICES_PATH}/new", include_in_schema=False, guards=[requires_admin])
async def new_service_page(request: Request[Any, Any, Any]) -> Template:
    """The form for a new service."""
    return _form_page(request, form=ServiceForm.new())


@post(SERVICES_PATH, include_in_schema=False, guards=[requires_admin], status_code=303)
async def create_service_form(
    request: Request[Any, Any, Any], state: State, data: URLEncodedBody[ServiceForm]
) -> Template | Redirect:
    """Register a service; bad input re-shows the form with the reason at the field."""
    try:
        service = await registry.create_service(app_sessions(state), data.parsed(), now=utcnow())
    except registry.ServiceError as exc:
        return _form_page(request, form=data, error=exc)
    return Redirect(path=f"{SERVICES_PATH}/{service.id}?created=1", status_code=303)


@get(f"{SERVICES_PATH}/{{service_id:int}}", include_in_schema=False)
async def service_page(
    request: Request[Any, Any, Any],
    state: State,
    service_id: IdPath,
    range_key: Annotated[RangeKey, QueryParameter(name="range")] = "24h",
) -> Template:
    """One service: uptime, check history chart and table, state changes, scraped metrics."""
    service = await _service_or_404(state, service_id)
    sessions = app_sessions(state)
    now = utcnow()
    since, until = views.range_bounds(range_key, now)
    health = await queries.service_health(sessions, now=now, service_ids=[service_id])
    buckets = await queries.check_buckets(
        sessions, service_id=service_id, since=since, until=until, count=views.CHART_BUCKETS
    )
    admin = is_admin(request)
    return page(
        request,
        "pages/service.html",
        service=service,
        row=views.service_row(service, health.get(service_id), now=now),
        can_edit=admin,
        ping_url=(
            ping_url(public_url=state.settings.server.public_url, token=service.ping_token)
            if admin
            else None
        ),
        ranges=views.range_choices(range_key),
        range_label=views.WINDOW_LABELS[range_key],
        chart=views.history_chart(buckets, range_key=range_key, since=since, until=until),
        bucket_lines=views.bucket_lines(buckets),
        recent=views.check_lines(
            await queries.recent_checks(sessions, service_id=service_id, limit=RECENT_CHECKS)
        ),
        changes=await queries.state_changes(sessions, service_id=service_id, limit=STATE_CHANGES),
        metrics=views.metrics_view(_latest_scrape(state, service_id), query="", now=now),
        notice=query_notice(request, NOTICES),
        stamp=views.stamp,
        labels=views.STATE_LABELS,
    )


@get(f"{SERVICES_PATH}/{{service_id:int}}/metrics", include_in_schema=False)
async def service_metrics_fragment(
    request: Request[Any, Any, Any],
    state: State,
    service_id: IdPath,
    name_filter: Annotated[str, QueryParameter(name="q", max_length=MAX_FILTER_LENGTH)] = "",
) -> Template:
    """The scraped-metrics table, filtered by a metric-name substring (for htmx)."""
    service = await _service_or_404(state, service_id)
    return Template(
        template_name="partials/_service_metrics_table.html",
        context={
            "service": service,
            "metrics": views.metrics_view(
                _latest_scrape(state, service_id), query=name_filter, now=utcnow()
            ),
        },
    )


@get(f"{SERVICES_PATH}/{{service_id:int}}/edit", include_in_schema=False, guards=[requires_admin])
async def edit_service_page(
    request: Request[Any, Any, Any], state: State, service_id: IdPath
) -> Template:
    """The form to change a service, with its ping token and deletion."""
    service = await _service_or_404(state, service_id)
    return _form_page(request, form=ServiceForm.of(service), service=service)


@post(
    f"{SERVICES_PATH}/{{service_id:int}}",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def update_service_form(
    request: Request[Any, Any, Any],
    state: State,
    service_id: IdPath,
    data: URLEncodedBody[ServiceForm],
) -> Template | Redirect:
    """Save a service's settings; bad input re-shows the form with the reason at the field."""
    service = await _service_or_404(state, service_id)
    try:
        fields = data.parsed()
        await registry.update_service(
            app_sessions(state),
            service_id=service_id,
            changes={name: getattr(fields, name) for name in registry.EDITABLE},
            now=utcnow(),
        )
    except registry.ServiceNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    except registry.ServiceError as exc:
        return _form_page(request, form=data, service=service, error=exc)
    return Redirect(path=f"{SERVICES_PATH}/{service_id}?saved=1", status_code=303)


@post(
    f"{SERVICES_PATH}/{{service_id:int}}/regenerate-token",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def regenerate_token_form(state: State, service_id: IdPath) -> Redirect:
    """Give the service a new ping token and show it."""
    try:
        await registry.regenerate_token(app_sessions(state), service_id=service_id, now=utcnow())
    except registry.ServiceNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    return Redirect(path=f"{SERVICES_PATH}/{service_id}?retokened=1", status_code=303)


@get(
    f"{SERVICES_PATH}/{{service_id:int}}/delete",
    include_in_schema=False,
    guards=[requires_admin],
)
async def delete_service_page(
    request: Request[Any, Any, Any], state: State, service_id: IdPath
) -> Template:
    """Ask before deleting: what goes with the service."""
    service = await _service_or_404(state, service_id)
    return page(request, "pages/service_delete.html", service=service)


@post(
    f"{SERVICES_PATH}/{{service_id:int}}/delete",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def delete_service_form(state: State, service_id: IdPath) -> Redirect:
    """Delete the service (confirmed on the page before) and go back to the list."""
    if not await registry.delete_service(app_sessions(state), service_id=service_id):
        raise NotFoundException(detail=f"no service with id {service_id}")
    state.scrapes.forget(service_id)
    return Redirect(path=SERVICES_PATH, status_code=303)


service_page_routes = [
    services_page,
    new_service_page,
    create_service_form,
    service_page,
    service_metrics_fragment,
    edit_service_page,
    update_service_form,
    regenerate_token_form,
    delete_service_page,
    delete_service_form,
]
"""Route handlers of the services pages."""
