"""Traces exported over OTLP/HTTP to a real local receiver, and degraded when it is gone."""

from __future__ import annotations

import logging
import time

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import TestClient
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from prometheus_client import CollectorRegistry

from app.config import LoggingSettings, TelemetrySettings, TracingSettings
from app.telemetry.setup import Telemetry, setup_telemetry
from tests.integration.telemetry.telemetry_receivers import Received, serve_otlp


class SpanCounter(SpanProcessor):
    """Counts spans that ended, whether or not they are exported."""

    def __init__(self) -> None:
        self.count = 0

    def on_end(self, span: ReadableSpan) -> None:
        self.count += 1


@get("/items/{item_id:int}", sync_to_thread=False)
def item(item_id: FromPath[int]) -> str:
    return "ok"


def make_telemetry(endpoint: str, sample_rate: float, timeout: float = 5.0) -> Telemetry:
    settings = TelemetrySettings(
        logging=LoggingSettings(access_log="off"),
        tracing=TracingSettings(
            endpoint=endpoint, sample_rate=sample_rate, export_timeout_seconds=timeout
        ),
    )
    return setup_telemetry(
        settings,
        version="1.0.0",
        environment="test",
        registry=CollectorRegistry(),
        configure_logs=False,
    )


def client_for(telemetry: Telemetry) -> TestClient[Litestar]:
    app = Litestar([item], middleware=[telemetry.middleware], logging_config=None)
    return TestClient(app)


async def test_sampled_request_exports_one_server_span_with_route_and_resource(
    otlp_receiver: Received,
) -> None:
    telemetry = make_telemetry(otlp_receiver.url, sample_rate=1.0)
    with client_for(telemetry) as client:
        assert client.get("/items/123?q=secret").status_code == 200
    assert telemetry.tracer_provider is not None
    assert telemetry.tracer_provider.force_flush()
    spans = otlp_receiver.spans()
    assert len(spans) == 1
    resource, span = spans[0]
    assert isinstance(span, ProtoSpan)
    assert resource["service.name"] == "vigil"
    assert resource["service.version"] == "1.0.0"
    assert resource["deployment.environment"] == "test"
    assert span.kind == ProtoSpan.SpanKind.SPAN_KIND_SERVER
    assert span.name == "GET /items/{item_id}"
    attributes = {a.key: a.value for a in span.attributes}
    assert attributes["http.route"].string_value == "/items/{item_id}"
    assert attributes["http.response.status_code"].int_value == 200
    assert attributes["url.path"].string_value == "/items/123"
    await telemetry.shutdown()


async def test_sampled_incoming_traceparent_wins_over_sample_rate_zero(
    otlp_receiver: Received,
) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    telemetry = make_telemetry(otlp_receiver.url, sample_rate=0.0)
    with client_for(telemetry) as client:
        client.get("/items/1")  # not sampled: rate 0, no parent
        client.get("/items/2", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
        client.get("/items/3", headers={"traceparent": f"00-{trace_id}-{parent_id}-00"})
    assert telemetry.tracer_provider is not None
    telemetry.tracer_provider.force_flush()
    spans = [span for _, span in otlp_receiver.spans()]
    assert len(spans) == 1
    (span,) = spans
    assert isinstance(span, ProtoSpan)
    assert span.trace_id.hex() == trace_id
    assert span.parent_span_id.hex() == parent_id
    await telemetry.shutdown()


async def test_unreachable_collector_logs_one_warning_and_shutdown_is_bounded(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}/v1/traces"
    caplog.set_level(logging.DEBUG)
    flaky = make_telemetry(endpoint, sample_rate=1.0, timeout=1.0)
    assert flaky.tracer_provider is not None
    ended = SpanCounter()
    flaky.tracer_provider.add_span_processor(ended)
    with client_for(flaky) as client:
        for _ in range(3):
            assert client.get("/items/5").status_code == 200
            flaky.tracer_provider.force_flush()
    assert flaky.tracing.exporter is not None
    # One real attempt; until the retry time, requests make no span at all (no-op).
    assert flaky.tracing.exporter.failures == 1
    assert ended.count == 1
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert endpoint in warnings[0].getMessage()
    await flaky.shutdown()

    # Default 5 s timeout, spans still queued when shutdown starts.
    telemetry = make_telemetry(endpoint, sample_rate=1.0)
    with client_for(telemetry) as client:
        for _ in range(5):
            assert client.get("/items/6").status_code == 200
    started = time.monotonic()
    await telemetry.shutdown()
    assert time.monotonic() - started < 6.5


def test_tracing_resumes_with_a_probe_once_the_collector_is_back(closed_port: int) -> None:
    telemetry = make_telemetry(f"http://127.0.0.1:{closed_port}/v1/traces", sample_rate=1.0)
    provider, exporter = telemetry.tracer_provider, telemetry.tracing.exporter
    assert provider is not None
    assert exporter is not None
    exporter.retry_seconds = 0.5
    ended = SpanCounter()
    provider.add_span_processor(ended)
    with client_for(telemetry) as client:
        client.get("/items/1")
        provider.force_flush()
        assert exporter.failing
        for _ in range(5):  # during the outage: no spans
            client.get("/items/2")
        assert ended.count == 1

        server, received = serve_otlp(closed_port)
        try:
            time.sleep(0.6)
            client.get("/items/3")  # the probe
            provider.force_flush()
            assert not exporter.failing
            for _ in range(3):
                client.get("/items/4")
            provider.force_flush()
        finally:
            server.shutdown()
            server.server_close()
    assert ended.count == 1 + 1 + 3
    assert len(received.spans()) == 4
    telemetry.tracing.shutdown()


def test_invalid_endpoint_degrades_to_no_op_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    telemetry = make_telemetry("not a url", sample_rate=1.0)
    assert telemetry.tracer_provider is None
    with client_for(telemetry) as client:
        assert client.get("/items/7").status_code == 200
    assert len(caplog.records) == 1
    assert "not a url" in caplog.records[0].getMessage()


def test_disabled_tracing_has_no_provider_and_no_spans() -> None:
    settings = TelemetrySettings(tracing=TracingSettings(enabled=False))
    telemetry = setup_telemetry(settings, version="1", environment="t", configure_logs=False)
    assert telemetry.tracer_provider is None
    assert telemetry.http.tracer is None
    assert not telemetry.tracer.start_span("x").is_recording()
