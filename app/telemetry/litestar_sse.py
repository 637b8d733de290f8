"""Litestar ``ServerSentEvent`` that records the SSE metrics of :mod:`app.telemetry.sse`.

@get("/events", sync_to_thread=False)
def events() -> InstrumentedServerSentEvent:
    return InstrumentedServerSentEvent(ticks(), stream="dashboard", metrics=metrics)
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, cast

from litestar.response import ServerSentEvent

from app.telemetry.sse import SSEInstrumentation

if TYPE_CHECKING:
    from litestar.response.base import ASGIResponse
    from litestar.types import Receive, Scope, Send
    from litestar.types.helper_types import StreamType

    from app.telemetry.asgi_types import ASGIApp
    from app.telemetry.metrics import VigilMetrics

__all__ = ["InstrumentedServerSentEvent"]

# One SSEInstrumentation (pre-bound label children) per metrics object and stream.
_instrumentations: weakref.WeakKeyDictionary[VigilMetrics, dict[str, SSEInstrumentation]] = (
    weakref.WeakKeyDictionary()
)


def _instrumentation(stream: str, metrics: VigilMetrics) -> SSEInstrumentation:
    streams = _instrumentations.setdefault(metrics, {})
    found = streams.get(stream)
    if found is None:
        found = streams[stream] = SSEInstrumentation(stream, metrics)
    return found


class _InstrumentedASGIResponse:
    """Runs Litestar's streaming ASGI response inside :meth:`SSEInstrumentation.run`."""

    __slots__ = ("inner", "instrumentation")

    def __init__(self, inner: ASGIResponse, instrumentation: SSEInstrumentation) -> None:
        self.inner = inner
        self.instrumentation = instrumentation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.instrumentation.run(
            cast("ASGIApp", self.inner), cast("Any", scope), cast("Any", receive), cast("Any", send)
        )


class InstrumentedServerSentEvent(ServerSentEvent):
    """A ``ServerSentEvent`` counted under ``stream`` in the ``vigil_sse_*`` metrics."""

    def __init__(
        self,
        content: str | bytes | StreamType[Any],
        *,
        stream: str,
        metrics: VigilMetrics,
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self._sse_instrumentation = _instrumentation(stream, metrics)

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        inner = super().to_asgi_response(*args, **kwargs)
        return cast("ASGIResponse", _InstrumentedASGIResponse(inner, self._sse_instrumentation))
