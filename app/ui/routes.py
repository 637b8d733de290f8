"""Dashboard pages. Thin: gather a view model, render a template."""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.enums import MediaType
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from app.auth import tokens
from app.auth.login_sessions import SESSION_COOKIE
from app.auth.principal import Principal, current_principal, requires_admin
from app.auth.users import list_users
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import IdPath
from app.rum.queries import site_summary
from app.rum.sites import list_sites
from app.rum.views import CORE_METRICS, site_glance
from app.telemetry.litestar_sse import InstrumentedServerSentEvent
from app.ui.forms import NewTokenForm
from app.ui.http_view import DEFAULT_RANGE, RANGES, RangeKey, http_view, range_choices
from app.ui.live import LiveHub, TooManyStreams, session_key
from app.ui.navigation import nav_items
from app.ui.overview import self_status
from app.ui.overview_data import live_context
from app.ui.service_http import ServiceFigures, service_figures


def page(
    request: Request[Any, Any, Any], template_name: str, *, status_code: int = 200, **context: Any
) -> Template:
    """Render a full page with the layout's navigation and user (a form with bad input
    is shown again with ``status_code=400``)."""
    principal = current_principal(request)
    return Template(
        template_name=template_name,
        context={
            "user": principal,
            "nav": nav_items(request.url.path, principal),
            **context,
        },
        status_code=status_code,
    )


@get("/", include_in_schema=False)
async def overview(request: Request[Any, Any, Any], state: State) -> Template:
    """Vigil's own health, then what needs attention."""
    scheduler = state.scheduler
    status = self_status(
        environment=state.settings.server.environment,
        dialect=state.engine.dialect.name,
        scheduler_enabled=scheduler is not None,
        is_leader=scheduler is not None and scheduler.is_leader,
        has_heartbeat=scheduler is not None and scheduler.last_heartbeat is not None,
        now=time.monotonic(),
    )
    sessions = app_sessions(state)
    now = utcnow()
    glances = [
        site_glance(
            site,
            await site_summary(
                sessions, site_id=site.id, range_days=1, device="all", today=now.date()
            ),
        )
        for site in await list_sites(sessions)
    ]
    return page(
        request,
        "pages/overview.html",
        status=status,
        sites=glances,
        metrics=CORE_METRICS,
        **await live_context(sessions, _live(state), now=now),
    )


def _live(state: State) -> LiveHub:
    hub: LiveHub = state.live
    return hub


@get("/ui/events", include_in_schema=False)
async def live_events(
    request: Request[Any, Any, Any], state: State
) -> InstrumentedServerSentEvent | Response[str]:
    """The overview's live fragments as server-sent events (429 past the stream limits)."""
    hub = _live(state)
    try:
        lease = hub.open(session_key(request.cookies.get(SESSION_COOKIE)))
    except TooManyStreams as exc:
        return Response(
            content=str(exc),
            status_code=429,
            media_type=MediaType.TEXT,
            headers={"Retry-After": "10"},
        )
    return InstrumentedServerSentEvent(
        hub.stream(lease),
        stream="dashboard",
        metrics=state.telemetry.metrics,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _service_figures(state: State, window: str) -> ServiceFigures | None:
    prometheus_url: str = state.settings.alerts.prometheus_url
    if not prometheus_url:
        return None
    timeout = min(5.0, float(state.settings.alerts.query_timeout_seconds))
    async with httpx.AsyncClient(timeout=timeout) as http:
        return await service_figures(http, prometheus_url, window=window)


@get("/http", include_in_schema=False)
async def http_page(
    request: Request[Any, Any, Any],
    state: State,
    range_key: Annotated[RangeKey, QueryParameter(name="range")] = DEFAULT_RANGE,
) -> Template:
    """Vigil's own routes and SSE streams; registered services' when Prometheus is set."""
    return page(
        request,
        "pages/http.html",
        view=http_view(
            _live(state).ring,
            window_seconds=RANGES[range_key],
            wall_now=utcnow(),
            monotonic_now=time.monotonic(),
        ),
        ranges=range_choices(range_key),
        range_key=range_key,
        services=await _service_figures(state, range_key),
    )


async def _admin_page(request: Request[Any, Any, Any], state: State, **context: Any) -> Template:
    sessions = app_sessions(state)
    return page(
        request,
        "pages/admin.html",
        users=await list_users(sessions),
        tokens=await tokens.list_tokens(sessions),
        **context,
    )


@get("/admin", include_in_schema=False, guards=[requires_admin])
async def admin(request: Request[Any, Any, Any], state: State) -> Template:
    """Users and API tokens."""
    return await _admin_page(request, state)


@post("/admin/tokens", include_in_schema=False, guards=[requires_admin], status_code=200)
async def admin_create_token(
    request: Request[Any, Any, Any],
    state: State,
    data: URLEncodedBody[NewTokenForm],
) -> Template:
    """Create a token for the signed-in admin and show its secret once."""
    problem = data.problem()
    if problem is not None:
        page_ = await _admin_page(request, state, token_error=problem, form=data)
        page_.status_code = 400
        return page_
    principal: Principal = request.user
    issued = await tokens.create_token(
        app_sessions(state), user_id=principal.user_id, name=data.name.strip(), scope=data.scope
    )
    return await _admin_page(request, state, issued=issued)


@post("/admin/tokens/{token_id:int}/revoke", include_in_schema=False, guards=[requires_admin])
async def admin_revoke_token(state: State, token_id: IdPath) -> Redirect:
    """Revoke a token and go back to the admin page."""
    await tokens.revoke_token(app_sessions(state), token_id=token_id)
    return Redirect(path="/admin", status_code=303)


ui_routes = [
    overview,
    live_events,
    http_page,
    admin,
    admin_create_token,
    admin_revoke_token,
]
"""Route handlers of the dashboard (``/vitals`` is served by ``app.rum.pages``, ``/services``
by ``app.services.pages``)."""
