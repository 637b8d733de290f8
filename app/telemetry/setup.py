"""Build Vigil's telemetry from its settings: metrics, tracing, logging, HTTP middleware.

Example (``app/main.py``)::

    from app.telemetry import instrument_engine, setup_telemetry

    telemetry = setup_telemetry(
        settings.telemetry, version=__version__, environment=settings.server.environment
    )
    app = Litestar(
        route_handlers=[..., telemetry.metrics_route],
        middleware=[telemetry.middleware],
        on_shutdown=[telemetry.shutdown],
    )
    instrument_engine(engine.sync_engine, telemetry.metrics, settings.database.slow_query_seconds)

``telemetry.middleware`` runs inside Litestar, after routing, so requests that match no
route (404/405) are not measured; ``telemetry.wrap(app)`` (an ASGI app around the whole
Litestar app) measures those too, as ``route="(unmatched)"``. Use one or the other.

This is the only module of :mod:`app.telemetry` that knows Vigil's settings types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from app.telemetry.exposition import metrics_route
from app.telemetry.logging import configure_logging
from app.telemetry.metrics import VigilMetrics
from app.telemetry.middleware import HttpInstrumentation, TelemetryMiddleware
from app.telemetry.tracing import Tracing, build_tracing

if TYPE_CHECKING:
    from litestar.handlers import HTTPRouteHandler
    from litestar.middleware import DefineMiddleware
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

    from app.config import TelemetrySettings
    from app.telemetry.asgi_types import ASGIApp

__all__ = ["Telemetry", "setup_telemetry"]


@dataclass
class Telemetry:
    """Everything the app wires in; see the module docstring for how."""

    settings: TelemetrySettings
    metrics: VigilMetrics
    tracing: Tracing
    http: HttpInstrumentation
    middleware: DefineMiddleware
    metrics_route: HTTPRouteHandler

    @property
    def registry(self) -> CollectorRegistry:
        return self.metrics.registry

    @property
    def tracer(self) -> Tracer:
        """The tracer to start spans with (a no-op tracer when tracing is off)."""
        return self.tracing.tracer

    @property
    def tracer_provider(self) -> TracerProvider | None:
        """The SDK provider, or None when tracing is off or misconfigured."""
        return self.tracing.provider

    def wrap(self, app: ASGIApp) -> TelemetryMiddleware:
        """The HTTP middleware around a whole ASGI app (also measures unmatched routes)."""
        return self.http.wrap(app)

    async def shutdown(self) -> None:
        """Flush queued spans (at most ``export_timeout_seconds``) and stop exporting."""
        await self.tracing.ashutdown()


def setup_telemetry(
    settings: TelemetrySettings,
    *,
    version: str,
    environment: str,
    registry: CollectorRegistry | None = None,
    configure_logs: bool = True,
    span_exporter: SpanExporter | None = None,
) -> Telemetry:
    """Create metrics (on ``registry`` or a fresh one), tracing, logging and the middleware.

    ``configure_logs=False`` leaves the logging configuration alone (a host app owns it);
    ``span_exporter`` replaces the OTLP/HTTP exporter.
    """
    if configure_logs:
        configure_logging(settings.logging)
    metrics = VigilMetrics(registry if registry is not None else CollectorRegistry())
    metrics.set_build_info(version=version, environment=environment)
    tracing_settings = settings.tracing
    tracing = build_tracing(
        enabled=tracing_settings.enabled,
        endpoint=tracing_settings.endpoint,
        export_timeout_seconds=tracing_settings.export_timeout_seconds,
        version=version,
        environment=environment,
        exporter=span_exporter,
    )
    http = HttpInstrumentation(
        metrics=metrics if settings.metrics.enabled else None,
        tracer=tracing.tracer if tracing.enabled else None,
        access_log=settings.logging.access_log,
        slow_request_seconds=settings.logging.slow_request_seconds,
        sample_rate=settings.tracing.sample_rate,
        trace_gate=tracing.exporter.admits_new_traces if tracing.exporter is not None else None,
    )
    return Telemetry(
        settings=settings,
        metrics=metrics,
        tracing=tracing,
        http=http,
        middleware=http.define_middleware(),
        metrics_route=metrics_route(
            metrics.registry,
            bearer_token=settings.metrics.bearer_token,
            enabled=settings.metrics.enabled,
        ),
    )
