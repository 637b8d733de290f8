"""Server-sent-event connection metrics for any ASGI app, by wrapping ``send`` and ``receive``.

Per connection: ``vigil_sse_connections_active`` while it is open, its duration when it
closes, one ``vigil_sse_messages_total{status}`` per body chunk (``ok``, or ``write_error``
when the server's ``send`` raised or the client had already gone — the wrapper reads
``receive`` itself, so it knows even when the app never does), and one
``vigil_sse_disconnects_total{reason}``:

* ``client_closed`` — the client went away (``http.disconnect`` received); Litestar's and
  Starlette's streaming responses listen for it and cancel the stream;
* ``write_error`` — ``send`` raised (``OSError``, uvicorn's ``ClientDisconnected``, anyio's
  broken/closed stream errors...);
* ``error`` — the app raised anything else;
* ``server_closed`` — the stream ended (or the server cancelled it) with the client still there.

For Litestar handlers use :class:`app.telemetry.litestar_sse.InstrumentedServerSentEvent`;
for any other ASGI endpoint, ``instrument_sse(endpoint, stream="name", metrics=metrics)``.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Literal

from app.telemetry.asgi_types import ASGIApp, Message, Receive, Scope, Send
from app.telemetry.middleware import SSE_SCOPE_KEY

if TYPE_CHECKING:
    from app.telemetry.metrics import VigilMetrics

__all__ = ["CloseReason", "SSEInstrumentation", "instrument_sse"]

CloseReason = Literal["client_closed", "server_closed", "write_error", "error"]


class SSEInstrumentation:
    """Pre-bound instruments of one named stream; :meth:`run` serves one connection."""

    def __init__(self, stream: str, metrics: VigilMetrics) -> None:
        self.stream = stream
        self.metrics = metrics
        self.active = metrics.sse_connections_active.labels(stream)
        self.duration = metrics.sse_connection_duration.labels(stream)
        self.ok = metrics.sse_messages.labels(stream, "ok")
        self.write_errors = metrics.sse_messages.labels(stream, "write_error")

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Call ``app`` for one SSE connection and record what happened to it."""
        scope[SSE_SCOPE_KEY] = True
        client_gone = False
        reason: CloseReason | None = None
        # Watch for the disconnect ourselves: an app that never reads ``receive`` would
        # otherwise have its writes to a gone client (which servers drop silently) count ok.
        received: asyncio.Queue[Message] = asyncio.Queue()

        async def watch_client() -> None:
            nonlocal client_gone
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    client_gone = True
                received.put_nowait(message)
                if client_gone:
                    return

        async def receive_wrapper() -> Message:
            return await received.get()

        async def send_wrapper(message: Message) -> None:
            nonlocal reason
            if message["type"] != "http.response.body" or not message.get("body"):
                await send(message)
                return
            if client_gone:  # the server drops it silently: the client never gets it
                self.write_errors.inc()
                await send(message)
                return
            try:
                await send(message)
            except Exception:
                self.write_errors.inc()
                reason = "write_error"
                raise
            self.ok.inc()

        self.active.inc()
        start = time.perf_counter()
        watcher = asyncio.create_task(watch_client())
        try:
            await app(scope, receive_wrapper, send_wrapper)
        except asyncio.CancelledError:
            reason = reason or ("client_closed" if client_gone else "server_closed")
            raise
        except Exception:
            reason = reason or ("client_closed" if client_gone else "error")
            raise
        finally:
            watcher.cancel()
            self.active.dec()
            self.duration.observe(time.perf_counter() - start)
            if reason is None:
                reason = "client_closed" if client_gone else "server_closed"
            self.metrics.sse_disconnects.labels(self.stream, reason).inc()


def instrument_sse(app: ASGIApp, *, stream: str, metrics: VigilMetrics) -> ASGIApp:
    """Wrap an ASGI app that serves one server-sent-event stream per HTTP request."""
    instrumentation = SSEInstrumentation(stream, metrics)

    async def instrumented(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        await instrumentation.run(app, scope, receive, send)

    return instrumented
