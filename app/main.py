"""``create_app(settings)``: wiring only. Each domain brings its own routes, tables and jobs."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from litestar import Litestar
from litestar.datastructures import CacheControlHeader, ResponseHeader, State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ASGIApp

from app import __version__
from app.auth.jobs import register_jobs as register_auth_jobs
from app.auth.plugin import AuthPlugin
from app.config import Settings, load_settings
from app.db.engine import create_engine, create_session_factory
from app.health.routes import health_routes
from app.rum.api import site_api_routes
from app.rum.ingest import RumIngest
from app.rum.jobs import register_jobs as register_rum_jobs
from app.rum.pages import rum_page_routes
from app.rum.routes import IngestFastPath
from app.scheduler import LeaderScheduler
from app.telemetry import instrument_engine, setup_telemetry
from app.ui.routes import ui_routes

ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = ROOT / "web" / "templates"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


SECURITY_HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY_POLICY),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
]
"""Headers every response carries: CSP without inline script, no sniffing, no referrer leaks."""


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the Vigil application from validated settings."""
    settings = settings or load_settings()
    telemetry = setup_telemetry(
        settings.telemetry, version=__version__, environment=settings.server.environment
    )
    engine = create_engine(settings.database)
    instrument_engine(engine.sync_engine, telemetry.metrics, settings.database.slow_query_seconds)
    sessions = create_session_factory(engine)
    rum = RumIngest(settings.rum, sessions, events_counter=telemetry.metrics.rum_events)
    scheduler = (
        LeaderScheduler(
            settings.scheduler, sessions, metrics=telemetry.metrics, tracer=telemetry.tracer
        )
        if settings.scheduler.enabled
        else None
    )
    if scheduler is not None:
        register_auth_jobs(scheduler, sessions)
        register_rum_jobs(scheduler, sessions, settings)

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        if scheduler is not None:
            scheduler.start()
        await rum.start()
        # Everything loaded so far lives as long as the process: keep it out of the
        # collector's full passes, which otherwise scan it all and stall requests.
        gc.freeze()
        try:
            yield
        finally:
            await rum.stop()  # every replica writes its accepted Web Vitals before exiting
            if scheduler is not None:
                await scheduler.shutdown()
            await telemetry.shutdown()
            await engine.dispose()

    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={"public": True},
        cache_control=CacheControlHeader(max_age=3600, public=True),
    )
    app = Litestar(
        route_handlers=[
            *health_routes,
            telemetry.metrics_route,
            static,
            *ui_routes,
            *site_api_routes,
            *rum_page_routes,
        ],
        plugins=[AuthPlugin(settings.auth, sessions)],
        lifespan=[lifespan],
        response_headers=SECURITY_HEADERS,
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "sessions": sessions,
                "scheduler": scheduler,
                "telemetry": telemetry,
                "rum": rum,
            }
        ),
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine),
        logging_config=None,  # logging is configured once, by the telemetry setup
        debug=False,
    )
    # Measure and trace around the router, as Litestar's own OpenTelemetry plugin does, so
    # requests that match no route (404s from scanners) are counted too; beacons are served
    # in front of the router (see IngestFastPath).
    app.asgi_handler = cast(
        "ASGIApp", telemetry.wrap(cast("Any", IngestFastPath(app.asgi_handler, rum)))
    )
    return app
