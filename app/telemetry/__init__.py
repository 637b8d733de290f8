"""Self-instrumentation: Prometheus metrics, OTLP traces, JSON logs, and ASGI / SSE / job
wrappers that any Python ASGI service can use. See ``docs/instrumentation.md``.

Nothing here imports Vigil's domains or database; only :mod:`app.telemetry.setup` knows
Vigil's settings types.
"""

from app.telemetry.db_metrics import instrument_engine
from app.telemetry.exposition import metrics_route
from app.telemetry.logging import configure_logging, redact
from app.telemetry.metrics import VigilMetrics
from app.telemetry.middleware import (
    HttpInstrumentation,
    TelemetryMiddleware,
    current_request_id,
    request_id_var,
)
from app.telemetry.setup import Telemetry, setup_telemetry
from app.telemetry.sse import SSEInstrumentation, instrument_sse
from app.telemetry.tasks import TaskRun, instrumented_task, track_task
from app.telemetry.tracing import (
    Tracing,
    ainject_traceparent,
    build_tracing,
    inject_traceparent,
    traced_async_client,
)

__all__ = [
    "HttpInstrumentation",
    "SSEInstrumentation",
    "TaskRun",
    "Telemetry",
    "TelemetryMiddleware",
    "Tracing",
    "VigilMetrics",
    "ainject_traceparent",
    "build_tracing",
    "configure_logging",
    "current_request_id",
    "inject_traceparent",
    "instrument_engine",
    "instrument_sse",
    "instrumented_task",
    "metrics_route",
    "redact",
    "request_id_var",
    "setup_telemetry",
    "traced_async_client",
    "track_task",
]
