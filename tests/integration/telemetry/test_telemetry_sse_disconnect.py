"""SSE metrics on a real uvicorn server when a real client goes away mid-stream."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import uvicorn
from litestar import Litestar, get
from prometheus_client import CollectorRegistry

from app.telemetry.litestar_sse import InstrumentedServerSentEvent
from app.telemetry.metrics import VigilMetrics
from app.telemetry.middleware import HttpInstrumentation


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def value(metrics: VigilMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_client_closing_mid_stream_is_recorded_and_active_returns_to_zero() -> None:
    metrics = VigilMetrics(CollectorRegistry())
    port = free_port()
    config = uvicorn.Config(
        build_app(metrics), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
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
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
