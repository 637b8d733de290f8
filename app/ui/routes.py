"""Dashboard pages. Thin: gather a view model, render a template."""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import tokens
from app.auth.principal import Principal, current_principal, requires_admin
from app.auth.users import list_users
from app.db.base import utcnow
from app.rum.queries import site_summary
from app.rum.sites import list_sites
from app.rum.views import CORE_METRICS, site_glance
from app.ui.forms import NewTokenForm
from app.ui.navigation import nav_items
from app.ui.overview import self_status


def page(request: Request[Any, Any, Any], template_name: str, **context: Any) -> Template:
    """Render a full page with the layout's navigation and user."""
    principal = current_principal(request)
    return Template(
        template_name=template_name,
        context={
            "user": principal,
            "nav": nav_items(request.url.path, principal),
            **context,
        },
    )


def _sessions(state: State) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = state.sessions
    return sessions


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
    sessions = _sessions(state)
    today = utcnow().date()
    glances = [
        site_glance(
            site,
            await site_summary(sessions, site_id=site.id, range_days=1, device="all", today=today),
        )
        for site in await list_sites(sessions)
    ]
    return page(request, "pages/overview.html", status=status, sites=glances, metrics=CORE_METRICS)


@get("/services", include_in_schema=False)
async def services(request: Request[Any, Any, Any]) -> Template:
    return page(request, "pages/services.html")


@get("/tasks", include_in_schema=False)
async def tasks_page(request: Request[Any, Any, Any]) -> Template:
    return page(request, "pages/tasks.html")


@get("/alerts", include_in_schema=False)
async def alerts(request: Request[Any, Any, Any]) -> Template:
    return page(request, "pages/alerts.html")


async def _admin_page(request: Request[Any, Any, Any], state: State, **context: Any) -> Template:
    sessions = _sessions(state)
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
        _sessions(state), user_id=principal.user_id, name=data.name.strip(), scope=data.scope
    )
    return await _admin_page(request, state, issued=issued)


@post("/admin/tokens/{token_id:int}/revoke", include_in_schema=False, guards=[requires_admin])
async def admin_revoke_token(state: State, token_id: FromPath[int]) -> Redirect:
    """Revoke a token and go back to the admin page."""
    await tokens.revoke_token(_sessions(state), token_id=token_id)
    return Redirect(path="/admin", status_code=303)


ui_routes = [
    overview,
    services,
    tasks_page,
    alerts,
    admin,
    admin_create_token,
    admin_revoke_token,
]
"""Route handlers of the dashboard (``/vitals`` is served by ``app.rum.pages``)."""
