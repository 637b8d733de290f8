"""Lean pure-ASGI HTTP middleware: one server span, cached metric children, request ids.

Per HTTP request it costs a header scan, a few dict lookups and, when tracing is on, one
span (sampling is decided before any attribute is built). It works with any ASGI app and
reads the route *template* the framework leaves in the scope:

* Litestar: its router writes ``scope["path_template"]`` (e.g. ``/items/{item_id}``) and
  ``scope["route_handler"]`` into the same scope dict before it calls the handler, so the
  template is there both for a middleware inside Litestar and for a wrapper around the whole
  app (read once the response starts). Mounted ASGI apps get ``<mount path>/{path:path}``.
* Requests the router could not match (404, 405) never receive a template: they are
  labelled ``(unmatched)``. They only reach this middleware when it wraps the whole app
  (:meth:`HttpInstrumentation.wrap`); a Litestar ``middleware=[...]`` entry runs after
  routing and does not see them.

Usage (any ASGI app)::

    instrumentation = HttpInstrumentation(metrics=VigilMetrics(), tracer=tracer)
    app = instrumentation.wrap(app)                    # outermost: counts 404s too
    Litestar(..., middleware=[instrumentation.define_middleware()])  # or inside Litestar
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from app.telemetry.asgi_types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from litestar.middleware import DefineMiddleware

    from app.telemetry.metrics import VigilMetrics

__all__ = [
    "ACCESS_LOGGER_NAME",
    "SSE_SCOPE_KEY",
    "UNMATCHED_ROUTE",
    "HttpInstrumentation",
    "TelemetryMiddleware",
    "current_request_id",
    "request_id_var",
]

UNMATCHED_ROUTE = "(unmatched)"
ACCESS_LOGGER_NAME = "vigil.access"
AccessLog = Literal["all", "errors", "off"]
"""Which requests the access log writes: all, 5xx and slow ones, or none."""
SSE_SCOPE_KEY = "vigil.sse"
"""Scope key set by the SSE wrapper: such requests are counted but not put in the latency
histogram (an SSE connection lasts minutes; it has its own duration metric)."""

request_id_var: ContextVar[str | None] = ContextVar("vigil_request_id", default=None)
"""Id of the request being served (incoming ``x-request-id`` if sane, else generated)."""


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return request_id_var.get()


_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_REQUEST_ID_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:"
_MAX_REQUEST_ID = 128
_HEX = frozenset("0123456789abcdef")

# Generated request ids: a random per-process prefix and a counter (unique, ~0.2 µs).
_ID_PREFIX = os.urandom(6).hex()
_id_counter = itertools.count(1)

RouteResolver = Callable[[Scope], str | None]


def _generate_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):08x}"


def _sane_request_id(raw: bytes) -> bool:
    return 0 < len(raw) <= _MAX_REQUEST_ID and not raw.translate(None, _REQUEST_ID_CHARS)


def litestar_route(scope: Scope) -> str | None:
    """Route template Litestar's router stored in ``scope``; None when nothing matched."""
    template = scope.get("path_template")
    if template:
        return str(template)
    handler = scope.get("route_handler")
    if handler is None:
        return None
    # Mounted ASGI apps (static files...) are routed with an empty template.
    paths = getattr(handler, "paths", None)
    if paths:
        return str(min(paths)).rstrip("/") + "/{path:path}"
    return None


_ids = RandomIdGenerator()
_ROOT = otel_context.Context()  # an empty context: the span is a root whatever is current


def _unsampled(trace_id: int, flags: TraceFlags, state: TraceState | None) -> NonRecordingSpan:
    return NonRecordingSpan(
        SpanContext(
            trace_id=trace_id,
            span_id=_ids.generate_span_id(),
            is_remote=False,
            trace_flags=flags,
            trace_state=state,
        )
    )


def parse_traceparent(traceparent: bytes, tracestate: bytes | None = None) -> SpanContext | None:
    """Decode a W3C ``traceparent`` header; None when it is malformed."""
    if len(traceparent) < 55:
        return None
    value = traceparent.decode("latin-1").lower()
    if value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    if len(value) > 55 and value[55] != "-":
        return None
    version, trace_hex, span_hex, flags_hex = value[:2], value[3:35], value[36:52], value[53:55]
    if version == "ff" or (version == "00" and len(value) != 55):
        return None
    if not _HEX.issuperset(value[:55].replace("-", "")):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if not trace_id or not span_id:
        return None
    state = None
    if tracestate:
        state = TraceState.from_header([tracestate.decode("latin-1")])
    return SpanContext(
        trace_id=trace_id,
        span_id=span_id,
        is_remote=True,
        trace_flags=TraceFlags(int(flags_hex, 16)),
        trace_state=state,
    )


class HttpInstrumentation:
    """Shared state of the HTTP middleware: instruments, cached label children, options.

    One instance serves every middleware instance built from it (Litestar builds one
    middleware per route).
    """

    def __init__(
        self,
        *,
        metrics: VigilMetrics | None = None,
        tracer: trace.Tracer | None = None,
        access_log: AccessLog = "off",
        slow_request_seconds: float = 1.0,
        sample_rate: float = 1.0,
        trace_gate: Callable[[], bool] | None = None,
        route_resolver: RouteResolver = litestar_route,
    ) -> None:
        self.metrics = metrics
        self.tracer = tracer
        self.access_log = access_log
        self.slow_request_seconds = slow_request_seconds
        self.sample_rate = sample_rate
        self.trace_gate = trace_gate
        """Asked before recording a sampled trace; False (exporter down) skips it."""
        self.route_resolver = route_resolver
        self.access_logger = logging.getLogger(ACCESS_LOGGER_NAME)

    def start_server_span(
        self,
        tracer: trace.Tracer,
        method: str,
        traceparent: bytes | None,
        tracestate: bytes | None,
    ) -> trace.Span:
        """The request's span, sampling decided first (W3C parent-based, else ``sample_rate``).

        A request that is not sampled gets a non-recording span made here (a few µs), not
        through the SDK (~20 µs): it still carries a trace id for logs and outgoing calls.
        So does a sampled one while ``trace_gate`` says the exporter is down (an incoming
        sampled flag is passed on unchanged).
        """
        parent = parse_traceparent(traceparent, tracestate) if traceparent is not None else None
        gate = self.trace_gate
        if parent is not None:
            if parent.trace_flags.sampled and (gate is None or gate()):
                context = trace.set_span_in_context(NonRecordingSpan(parent))
                return tracer.start_span(method, context=context, kind=SpanKind.SERVER)
            return _unsampled(parent.trace_id, parent.trace_flags, parent.trace_state)
        if random.random() < self.sample_rate and (gate is None or gate()):
            return tracer.start_span(method, context=_ROOT, kind=SpanKind.SERVER)
        return _unsampled(_ids.generate_trace_id(), TraceFlags(TraceFlags.DEFAULT), None)

    def wrap(self, app: ASGIApp) -> TelemetryMiddleware:
        """Wrap a whole ASGI app (recommended: also counts unmatched routes)."""
        return TelemetryMiddleware(app, instrumentation=self)

    def define_middleware(self) -> DefineMiddleware:
        """This middleware for ``Litestar(middleware=[...])`` (matched routes only)."""
        from litestar.middleware import DefineMiddleware

        # Litestar types scopes as TypedDicts; ours are plain mappings at runtime too.
        factory: Callable[..., Any] = TelemetryMiddleware
        return DefineMiddleware(factory, instrumentation=self)


class TelemetryMiddleware:
    """ASGI middleware recording metrics, one server span and the access log per request."""

    __slots__ = ("app", "instrumentation")

    def __init__(self, app: ASGIApp, *, instrumentation: HttpInstrumentation) -> None:
        self.app = app
        self.instrumentation = instrumentation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inst = self.instrumentation
        tracer = inst.tracer
        metrics = inst.metrics

        incoming_id = traceparent = tracestate = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value
            elif name == b"traceparent":
                traceparent = value
            elif name == b"tracestate":
                tracestate = value
        if incoming_id is not None and _sane_request_id(incoming_id):
            request_id = incoming_id.decode("ascii")
            request_id_bytes = incoming_id
        else:
            request_id = _generate_request_id()
            request_id_bytes = request_id.encode("ascii")
        method = scope["method"]
        path = scope["path"]  # ASGI paths carry no query string

        span: trace.Span | None = None
        context_token = None
        if tracer is not None:
            span = inst.start_server_span(tracer, method, traceparent, tracestate)
            context_token = otel_context.attach(trace.set_span_in_context(span))
        id_token = request_id_var.set(request_id)

        status = 0
        size = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers")
                if isinstance(headers, list):
                    headers.append((b"x-request-id", request_id_bytes))
                else:
                    message["headers"] = [*(headers or ()), (b"x-request-id", request_id_bytes)]
            await send(message)

        http = metrics.http if metrics is not None else None
        if http is not None:
            http.in_flight += 1
        start = time.perf_counter()
        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            error = exc
            if not status:
                status = 500
            raise
        finally:
            duration = time.perf_counter() - start
            route = inst.route_resolver(scope) or UNMATCHED_ROUTE
            method_label = method if method in _METHODS else "OTHER"
            if http is not None:
                http.in_flight -= 1
                timed = None if scope.get(SSE_SCOPE_KEY) else duration
                http.record(route, method_label, status, timed, size)
            if span is not None:
                if span.is_recording():
                    _annotate(span, method_label, route, path, status, request_id, error)
                span.end()
            if inst.access_log != "off" and (
                inst.access_log == "all" or status >= 500 or duration >= inst.slow_request_seconds
            ):
                inst.access_logger.info(
                    "%s %s %d %.1fms",
                    method,
                    path,
                    status,
                    duration * 1000,
                    extra={
                        "method": method,
                        "route": route,
                        "path": path,
                        "status": status,
                        "duration_ms": round(duration * 1000, 3),
                    },
                )
            if context_token is not None:
                otel_context.detach(context_token)
            request_id_var.reset(id_token)


def _annotate(
    span: trace.Span,
    method: str,
    route: str,
    path: str,
    status: int,
    request_id: str,
    error: BaseException | None,
) -> None:
    span.update_name(f"{method} {route}")
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "http.route": route,
        "url.path": path,
        "http.response.status_code": status,
        "vigil.request_id": request_id,
    }
    span.set_attributes(attributes)
    if error is not None and isinstance(error, Exception):
        span.record_exception(error)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
