"""Gather the overview's panels: used by the page and by the live stream's fragments."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any, Final

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.rule_store import active_series
from app.alerts.views import STATE_SYMBOLS
from app.db.base import utcnow
from app.ui.attention import service_counts, task_counts
from app.ui.live import LiveHub, Renderer, template_renderer
from app.ui.overview import (
    HEALTH_WINDOW_SECONDS,
    alert_panel,
    self_health,
    service_panel,
    task_panel,
)

LIVE_FRAGMENTS: Final[dict[str, str]] = {
    "alerts": "partials/_overview_alerts.html",
    "services": "partials/_overview_services.html",
    "tasks": "partials/_overview_tasks.html",
    "self-health": "partials/_overview_self.html",
}
"""SSE event name → the partial it carries (the page's ``sse-swap`` targets)."""


async def live_context(
    sessions: async_sessionmaker[AsyncSession], hub: LiveHub, *, now: datetime
) -> dict[str, Any]:
    """Everything the live partials read."""
    async with sessions() as session:
        pairs = await active_series(session)
        services = await service_counts(session)
        tasks = await task_counts(session)
    return {
        "alerts": alert_panel(pairs, now),
        "services": service_panel(services, now),
        "tasks": task_panel(tasks, now),
        "health": self_health(
            hub.ring,
            window_seconds=HEALTH_WINDOW_SECONDS,
            wall_now=now,
            monotonic_now=time.monotonic(),
        ),
        "symbols": STATE_SYMBOLS,
    }


def overview_renderer(
    sessions: async_sessionmaker[AsyncSession],
    hub: LiveHub,
    render: Callable[[str, Mapping[str, Any]], str],
) -> Renderer:
    """The hub's renderer: the live partials of the overview, rendered once per tick."""

    async def fragments() -> dict[str, str]:
        context = await live_context(sessions, hub, now=utcnow())
        return {event: render(template, context) for event, template in LIVE_FRAGMENTS.items()}

    return fragments


def live_updates(
    hub: LiveHub, sessions: async_sessionmaker[AsyncSession]
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """The app lifespan that runs ``hub`` with the overview's fragments."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        render = template_renderer(app.template_engine)
        async with hub.running(overview_renderer(sessions, hub, render)):
            yield

    return lifespan
