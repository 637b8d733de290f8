"""OpenTelemetry tracing: an explicit TracerProvider exporting over OTLP/HTTP, and W3C
``traceparent`` propagation for outgoing httpx calls.

Telemetry never breaks the app: an invalid endpoint or exporter config gives a no-op tracer,
and an unreachable collector is reported by ONE warning (then one info line when exports
work again); the OTLP exporter's own per-batch error lines are silenced.
The provider is never installed globally, so several can coexist (tests, embedded apps).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Tracing",
    "ainject_traceparent",
    "build_tracing",
    "inject_traceparent",
    "traced_async_client",
]

logger = logging.getLogger(__name__)
TRACER_NAME = "vigil"

# Loggers of the OTLP/HTTP exporter that log every failed batch (and every retry).
_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
)


class _SilenceExporterLogs(logging.Filter):
    """Drops the exporter's per-batch lines; keeps the last one as the failure reason."""

    last_message = ""

    def filter(self, record: logging.LogRecord) -> bool:
        _SilenceExporterLogs.last_message = record.getMessage()
        return False


_silencer = _SilenceExporterLogs()
_silence_lock = threading.Lock()


def _silence_exporter_logs() -> None:
    with _silence_lock:
        for name in _EXPORTER_LOGGERS:
            exporter_logger = logging.getLogger(name)
            if _silencer not in exporter_logger.filters:
                exporter_logger.addFilter(_silencer)


class OnceWarningExporter(SpanExporter):
    """Delegates to another exporter; logs one warning per outage instead of one per batch.

    While the collector is down, batches are dropped without being encoded or sent, and
    one batch is tried every ``retry_seconds``; :meth:`admits_new_traces` lets span
    producers stop making spans meanwhile, but for one probe per interval, so an outage
    costs the app next to no CPU (tracing degrades to a no-op until the collector is back).
    """

    def __init__(
        self, delegate: SpanExporter, *, endpoint: str, retry_seconds: float = 30.0
    ) -> None:
        self.delegate = delegate
        self.endpoint = endpoint
        self.retry_seconds = retry_seconds
        self.failing = False
        self.failures = 0
        self.dropped_batches = 0
        self.is_shut_down = False
        self._retry_at = 0.0
        self._probe_at = 0.0

    def admits_new_traces(self) -> bool:
        """False during an outage, but once per ``retry_seconds`` (a probe trace)."""
        if not self.failing:
            return True
        now = time.monotonic()
        if now < self._probe_at:
            return False
        self._probe_at = now + self.retry_seconds
        return True

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.failing and time.monotonic() < self._retry_at:
            self.dropped_batches += 1
            return SpanExportResult.FAILURE
        reason = ""
        try:
            result = self.delegate.export(spans)
        except Exception as exc:
            result, reason = SpanExportResult.FAILURE, f"{type(exc).__name__}: {exc}"
        if result is SpanExportResult.FAILURE:
            self.failures += 1
            self._retry_at = self._probe_at = time.monotonic() + self.retry_seconds
            if not self.failing:
                self.failing = True
                logger.warning(
                    "Trace export to %s failed (%s); spans are dropped until it recovers "
                    "and further failures are not logged",
                    self.endpoint,
                    reason or _SilenceExporterLogs.last_message or "unknown error",
                )
        elif self.failing:
            self.failing = False
            logger.info("Trace export to %s works again", self.endpoint)
        return result

    def shutdown(self) -> None:
        """Shut the delegate down once; also aborts an export waiting to retry."""
        if self.is_shut_down:
            return
        self.is_shut_down = True
        try:
            self.delegate.shutdown()
        except Exception:  # the app must shut down anyway
            logger.debug("trace exporter shutdown failed", exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.delegate.force_flush(timeout_millis)


@dataclass
class Tracing:
    """A tracer and, when tracing is on, the provider and span processor behind it."""

    tracer: trace.Tracer
    provider: TracerProvider | None = None
    processor: BatchSpanProcessor | None = None
    exporter: OnceWarningExporter | None = None
    export_timeout_seconds: float = 5.0

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def shutdown(self) -> None:
        """Flush queued spans for at most ``export_timeout_seconds``, then stop exporting.

        The SDK's processor shutdown waits up to 30 s for a stuck export, so it runs in a
        daemon thread; past the deadline the exporter is shut down, which aborts its retries.
        """
        if self.processor is None or self.provider is None:
            return
        flusher = threading.Thread(
            target=self.processor.shutdown, name="vigil-trace-shutdown", daemon=True
        )
        flusher.start()
        flusher.join(self.export_timeout_seconds)
        if flusher.is_alive():
            logger.warning(
                "Trace flush did not finish within %.1f s; remaining spans are dropped",
                self.export_timeout_seconds,
            )
            if self.exporter is not None:
                self.exporter.shutdown()
            flusher.join(0.5)
        self.provider.shutdown()

    async def ashutdown(self) -> None:
        """:meth:`shutdown` in a worker thread, so the event loop keeps running."""
        if self.provider is not None:
            await asyncio.to_thread(self.shutdown)


def build_tracing(
    *,
    enabled: bool,
    endpoint: str,
    export_timeout_seconds: float,
    version: str,
    environment: str,
    service_name: str = "vigil",
    exporter: SpanExporter | None = None,
) -> Tracing:
    """Build a provider with OTLP/HTTP export and parent-based sampling.

    Roots are always sampled by the provider: the HTTP middleware decides at the configured
    sample rate *before* creating a span (see ``HttpInstrumentation.start_server_span``),
    so unsampled requests cost no SDK span; background jobs, a few a minute, are all traced.

    ``exporter`` replaces the OTLP exporter (tests, other backends). Disabled or invalid
    configuration returns a no-op tracer and no provider.
    """
    noop = Tracing(tracer=trace.NoOpTracer(), export_timeout_seconds=export_timeout_seconds)
    if not enabled:
        return noop
    if exporter is None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            logger.warning(
                "Tracing disabled: telemetry.tracing.endpoint %r is not an http(s) URL",
                endpoint,
            )
            return noop
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=endpoint, timeout=export_timeout_seconds)
        except Exception as exc:
            logger.warning("Tracing disabled: cannot create the OTLP exporter (%s)", exc)
            return noop
        _silence_exporter_logs()
    wrapped = OnceWarningExporter(exporter, endpoint=endpoint)
    resource = Resource.create(
        {
            "service.name": service_name,
            "service.version": version,
            "deployment.environment": environment,
            "deployment.environment.name": environment,
        }
    )
    provider = TracerProvider(
        resource=resource,
        sampler=ParentBased(ALWAYS_ON),
        shutdown_on_exit=False,
    )
    processor = BatchSpanProcessor(wrapped, export_timeout_millis=export_timeout_seconds * 1000)
    provider.add_span_processor(processor)
    return Tracing(
        tracer=provider.get_tracer(TRACER_NAME, version),
        provider=provider,
        processor=processor,
        exporter=wrapped,
        export_timeout_seconds=export_timeout_seconds,
    )


_propagator = TraceContextTextMapPropagator()


def inject_traceparent(request: httpx.Request) -> None:
    """httpx.Client request hook: add ``traceparent`` (and ``tracestate``) of the current span."""
    _propagator.inject(request.headers)


async def ainject_traceparent(request: httpx.Request) -> None:
    """httpx.AsyncClient request hook: add ``traceparent`` of the current span."""
    _propagator.inject(request.headers)


def traced_async_client(**kwargs: Any) -> httpx.AsyncClient:
    """``httpx.AsyncClient(**kwargs)`` whose requests carry the current ``traceparent``."""
    import httpx

    hooks: dict[str, list[Any]] = {
        key: list(value) for key, value in (kwargs.pop("event_hooks", None) or {}).items()
    }
    hooks.setdefault("request", []).insert(0, ainject_traceparent)
    return httpx.AsyncClient(event_hooks=hooks, **kwargs)
