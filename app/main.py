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
from app.alerts.api import alert_api_routes
from app.alerts.jobs import register_jobs as register_alert_jobs
from app.alerts.jobs import retention_targets as alert_retention_targets
from app.alerts.pages import alert_page_routes
from app.auth.jobs import register_jobs as register_auth_jobs
from app.auth.plugin import AuthPlugin
from app.config import Settings, load_settings
from app.db.engine import create_engine, create_session_factory
from app.db.retention import RetentionTarget, register_retention_job
from app.db.unavailable import database_exception_handlers
from app.health.routes import health_routes
from app.http_input import StrictBodyRequest
from app.notify.api import channel_api_routes
from app.notify.jobs import register_jobs as register_notify_jobs
from app.notify.pages import notify_page_routes
from app.rum.api import site_api_routes
from app.rum.gauges import register_gauge_job as register_rum_gauge_job
from app.rum.ingest import RumIngest
from app.rum.jobs import register_jobs as register_rum_jobs
from app.rum.pages import rum_page_routes
from app.rum.routes import IngestFastPath
from app.scheduler import LeaderScheduler
from app.services.api import service_api_routes
from app.services.jobs import register_jobs as register_service_jobs
from app.services.models import ServiceCheck, ServiceCheckHour, ServiceStateChange
from app.services.pages import service_page_routes
from app.services.scrapes import ScrapeStore
from app.services.sd import sd_routes
from app.tasks.ingest import PingIngest
from app.tasks.jobs import register_jobs as register_task_jobs
from app.tasks.models import TaskRun, TaskStatusChange
from app.tasks.pages import task_page_routes
from app.tasks.routes import PingFastPath, PingTokenRedaction
from app.tasks.transactions import transactions_for
from app.telemetry import instrument_engine, setup_telemetry
from app.ui.live import LiveHub
from app.ui.overview_data import live_updates
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
    scrapes = ScrapeStore()
    pings = PingIngest(
        settings.tasks,
        sessions,
        transactions_for(engine, busy_timeout_ms=settings.database.busy_timeout_ms),
    )
    live = LiveHub(telemetry.metrics)
    retention_targets = [
        RetentionTarget(ServiceCheck.__table__, ServiceCheck.__table__.c.checked_at),
        RetentionTarget(ServiceStateChange.__table__, ServiceStateChange.__table__.c.changed_at),
        RetentionTarget(ServiceCheckHour.__table__, ServiceCheckHour.__table__.c.hour),
        RetentionTarget(TaskRun.__table__, TaskRun.__table__.c.started_at),
        RetentionTarget(TaskStatusChange.__table__, TaskStatusChange.__table__.c.changed_at),
        *alert_retention_targets(),
    ]
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
        register_rum_gauge_job(scheduler, sessions, telemetry.metrics)
        register_service_jobs(scheduler, sessions, settings.services, scrapes, telemetry.metrics)
        register_task_jobs(scheduler, sessions, settings.tasks)
        register_alert_jobs(
            scheduler, sessions, settings, metrics=telemetry.metrics, scrapes=scrapes
        )
        register_notify_jobs(scheduler, sessions, settings, metrics=telemetry.metrics)
        register_retention_job(scheduler, sessions, settings, retention_targets, telemetry.metrics)

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        if scheduler is not None:
            scheduler.start()
        await rum.start()
        await pings.start()
        # Everything loaded so far lives as long as the process: keep it out of the
        # collector's full passes, which otherwise scan it all and stall requests.
        gc.freeze()
        try:
            yield
        finally:
            await rum.stop()  # every replica writes its accepted Web Vitals before exiting
            await pings.stop()  # and the pings it was writing
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
            *service_api_routes,
            *service_page_routes,
            *task_page_routes,
            *alert_api_routes,
            *alert_page_routes,
            *channel_api_routes,
            *notify_page_routes,
            *sd_routes,
        ],
        plugins=[AuthPlugin(settings.auth, sessions)],
        lifespan=[lifespan, live_updates(live, sessions)],
        response_headers=SECURITY_HEADERS,
        request_class=StrictBodyRequest,  # bodies: UTF-8 JSON and forms without NULs, or 400
        exception_handlers=database_exception_handlers(),  # 503 while the database is down
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "sessions": sessions,
                "scheduler": scheduler,
                "telemetry": telemetry,
                "rum": rum,
                "scrapes": scrapes,
                "pings": pings,
                "live": live,
            }
        ),
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine),
        logging_config=None,  # logging is configured once, by the telemetry setup
        debug=False,
    )
    # Measure and trace around the router, as Litestar's own OpenTelemetry plugin does, so
    # requests that match no route (404s from scanners) are counted too; beacons are served
    # in front of the router (see IngestFastPath), and so are pings (PingFastPath), whose
    # tokens are hidden from the telemetry middleware and the server's logs.
    app.asgi_handler = cast(
        "ASGIApp",
        PingTokenRedaction(
            cast(
                "ASGIApp",
                telemetry.wrap(
                    cast("Any", PingFastPath(IngestFastPath(app.asgi_handler, rum), pings))
                ),
            )
        ),
    )
    return app
