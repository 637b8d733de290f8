"""SSE metrics on a real uvicorn server when a real client goes away mid-stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from litestar import Litestar, get
from prometheus_client import CollectorRegistry

from app.telemetry.litestar_sse import InstrumentedServerSentEvent
from app.telemetry.metrics import VigilMetrics
from app.telemetry.middleware import HttpInstrumentation
from tests.support.server import free_port


def build_app(metrics: VigilMetrics) -> Litestar:
    async def ticks() -> AsyncIterator[str]:
        n = 0
        while True:
            n += 1
            yield f"tick {n}"
            await asyncio.sleep(0.05)

    @get("/events", sync_to_thread=False)
    def events() -> InstrumentedServerSentEvent:
        return InstrumentedServerSentEvent(ticks(), stream="dashboard", metrics=metrics)

    http = HttpInstrumentation(metrics=metrics)
    return Litestar([events], middleware=[http.define_middleware()], logging_config=None)


@asynccontextmanager
async def served(app: object) -> AsyncIterator[int]:
    """Serve ``app`` with a real uvicorn on a free loopback port; yield the port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


def value(metrics: VigilMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_client_closing_mid_stream_is_recorded_and_active_returns_to_zero() -> None:
    metrics = VigilMetrics(CollectorRegistry())
    async with served(build_app(metrics)) as port:
        events: list[str] = []
        async with (
            httpx.AsyncClient(timeout=5) as client,
            client.stream("GET", f"http://127.0.0.1:{port}/events") as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    events.append(line)
                if len(events) == 2:
                    assert value(metrics, "vigil_sse_connections_active", stream="dashboard") == 1
                    break  # leaving the block closes the connection mid-stream
        assert events == ["data: tick 1", "data: tick 2"]

        for _ in range(200):
            if value(metrics, "vigil_sse_connections_active", stream="dashboard") == 0:
                break
            await asyncio.sleep(0.025)
        assert value(metrics, "vigil_sse_connections_active", stream="dashboard") == 0
        closed = value(
            metrics, "vigil_sse_disconnects_total", stream="dashboard", reason="client_closed"
        )
        # uvicorn reports the closed socket as http.disconnect (its send() then drops writes
        # silently), which Litestar's stream listens for: the close reason is client_closed.
        assert closed == 1
        assert value(metrics, "vigil_sse_messages_total", stream="dashboard", status="ok") >= 2
        assert (
            value(metrics, "vigil_sse_connection_duration_seconds_count", stream="dashboard") == 1
        )
        # The SSE request is counted, but kept out of the HTTP latency histogram.
        labels = {"route": "/events", "method": "GET", "status_class": "2xx"}
        assert value(metrics, "vigil_http_requests_total", **labels) == 1
        assert value(metrics, "vigil_http_request_duration_seconds_count", **labels) == 0


async def raw_sse_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    """An SSE endpoint that never reads ``receive``: it writes until it has sent 40 events."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    for n in range(40):
        await send({"type": "http.response.body", "body": b"data: %d\n\n" % n, "more_body": True})
        await asyncio.sleep(0.02)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def test_writes_after_the_client_left_are_write_errors_even_if_the_app_never_listens() -> (
    None
):
    from app.telemetry.sse import instrument_sse

    metrics = VigilMetrics(CollectorRegistry())
    app = instrument_sse(raw_sse_app, stream="raw", metrics=metrics)
    async with served(app) as port:
        async with (
            httpx.AsyncClient(timeout=5) as client,
            client.stream("GET", f"http://127.0.0.1:{port}/") as response,
        ):
            async for line in response.aiter_lines():
                if line == "data: 1":
                    break  # the client goes away after two events
        for _ in range(200):  # the app keeps writing for ~0.8 s, then ends
            if value(metrics, "vigil_sse_connections_active", stream="raw") == 0:
                break
            await asyncio.sleep(0.025)
        assert value(metrics, "vigil_sse_connections_active", stream="raw") == 0
        errors = value(metrics, "vigil_sse_messages_total", stream="raw", status="write_error")
        ok = value(metrics, "vigil_sse_messages_total", stream="raw", status="ok")
        assert errors >= 10
        assert ok + errors == 40
        assert value(metrics, "vigil_sse_disconnects_total", stream="raw", reason="client_closed")
