"""Outgoing httpx calls carry the current span's W3C traceparent to a real server."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider

from app.telemetry.tracing import inject_traceparent, traced_async_client
from tests.integration.telemetry.telemetry_receivers import Received


async def test_async_client_sends_traceparent_of_the_current_span(
    header_recorder: Received,
) -> None:
    tracer = TracerProvider().get_tracer("test")
    async with traced_async_client(timeout=5) as client:
        with tracer.start_as_current_span("outgoing") as span:
            await client.get(header_recorder.url)
        await client.get(header_recorder.url)  # outside any span
    context = span.get_span_context()
    inside, outside = header_recorder.headers
    version, trace_id, parent_id, flags = inside["traceparent"].split("-")
    assert (version, trace_id, parent_id) == (
        "00",
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
    )
    assert int(flags, 16) & 0x01  # sampled
    assert "traceparent" not in outside


def test_sync_client_hook_sends_traceparent(header_recorder: Received) -> None:
    tracer = TracerProvider().get_tracer("test")
    with (
        httpx.Client(event_hooks={"request": [inject_traceparent]}) as client,
        tracer.start_as_current_span("outgoing") as span,
    ):
        client.get(header_recorder.url)
    trace_id = f"{span.get_span_context().trace_id:032x}"
    assert trace_id in header_recorder.headers[0]["traceparent"]


async def test_existing_event_hooks_are_kept(header_recorder: Received) -> None:
    seen: list[str] = []

    async def remember(request: httpx.Request) -> None:
        seen.append(str(request.url))

    async with traced_async_client(event_hooks={"request": [remember]}) as client:
        await client.get(header_recorder.url)
    assert seen == [header_recorder.url]
