"""Head sampling in the middleware: decided before a span exists, parent-based first."""

from __future__ import annotations

import random

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

from app.telemetry import HttpInstrumentation

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
seen: list[trace.SpanContext] = []


@get("/work", sync_to_thread=False)
def work() -> str:
    seen.append(trace.get_current_span().get_span_context())
    return "ok"


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def client_for(exported: InMemorySpanExporter, sample_rate: float) -> TestClient:  # type: ignore[type-arg]
    provider = TracerProvider(sampler=ParentBased(ALWAYS_ON))
    provider.add_span_processor(SimpleSpanProcessor(exported))
    http = HttpInstrumentation(tracer=provider.get_tracer("test"), sample_rate=sample_rate)
    seen.clear()
    return TestClient(http.wrap(Litestar([work], logging_config=None)))  # type: ignore[arg-type]


def test_unsampled_request_creates_no_span_but_has_a_trace_id(
    exported: InMemorySpanExporter,
) -> None:
    with client_for(exported, sample_rate=0.0) as client:
        client.get("/work")
    assert exported.get_finished_spans() == ()
    assert seen[0].is_valid
    assert not seen[0].trace_flags.sampled


def test_sampled_request_exports_one_server_span(exported: InMemorySpanExporter) -> None:
    with client_for(exported, sample_rate=1.0) as client:
        client.get("/work")
    (span,) = exported.get_finished_spans()
    assert span.kind is trace.SpanKind.SERVER
    assert span.name == "GET /work"
    assert span.parent is None


def test_unsampled_parent_is_honoured_and_its_trace_id_kept(
    exported: InMemorySpanExporter,
) -> None:
    with client_for(exported, sample_rate=1.0) as client:
        client.get("/work", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-00"})
    assert exported.get_finished_spans() == ()
    assert format(seen[0].trace_id, "032x") == TRACE_ID


def test_sampled_parent_wins_over_a_zero_rate(exported: InMemorySpanExporter) -> None:
    with client_for(exported, sample_rate=0.0) as client:
        client.get("/work", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
    (span,) = exported.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None


def test_roots_are_sampled_at_the_configured_rate(exported: InMemorySpanExporter) -> None:
    random.seed(7)
    with client_for(exported, sample_rate=0.2) as client:
        for _ in range(1000):
            client.get("/work")
    assert 150 <= len(exported.get_finished_spans()) <= 250
