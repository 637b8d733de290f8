"""SSE wrapper at the ASGI level: a send that fails is a write_error."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from app.telemetry.metrics import VigilMetrics
from app.telemetry.sse import instrument_sse


async def sse_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for i in range(3):
        await send(
            {"type": "http.response.body", "body": f"data: {i}\n\n".encode(), "more_body": True}
        )
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def value(metrics: VigilMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


SCOPE = {"type": "http", "method": "GET", "path": "/events", "headers": []}


async def test_stream_that_ends_counts_ok_messages_and_server_closed() -> None:
    metrics = VigilMetrics(CollectorRegistry())

    async def send(message: Any) -> None:
        pass

    await instrument_sse(sse_app, stream="ui", metrics=metrics)(dict(SCOPE), receive, send)
    assert value(metrics, "vigil_sse_messages_total", stream="ui", status="ok") == 3
    assert value(metrics, "vigil_sse_disconnects_total", stream="ui", reason="server_closed") == 1
    assert value(metrics, "vigil_sse_connections_active", stream="ui") == 0
    assert value(metrics, "vigil_sse_connection_duration_seconds_count", stream="ui") == 1


async def test_send_raising_oserror_counts_write_error_and_reason() -> None:
    metrics = VigilMetrics(CollectorRegistry())
    sent = 0

    async def send(message: Any) -> None:
        nonlocal sent
        if message["type"] == "http.response.body":
            sent += 1
            if sent == 2:
                raise ConnectionResetError("peer gone")

    with pytest.raises(ConnectionResetError):
        await instrument_sse(sse_app, stream="ui", metrics=metrics)(dict(SCOPE), receive, send)
    assert value(metrics, "vigil_sse_messages_total", stream="ui", status="ok") == 1
    assert value(metrics, "vigil_sse_messages_total", stream="ui", status="write_error") == 1
    assert value(metrics, "vigil_sse_disconnects_total", stream="ui", reason="write_error") == 1
    assert value(metrics, "vigil_sse_connections_active", stream="ui") == 0
