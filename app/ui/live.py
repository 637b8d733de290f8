"""The dashboard's live updates: one SSE stream per page, fed by one producer per process.

:class:`LiveHub` runs in the app's lifespan. Every ``tick`` seconds it snapshots Vigil's own
HTTP/SSE counters into a ring (read by the overview and ``/http``), and — only while someone
is connected — renders the overview's live fragments once, whatever the number of viewers.
Each connection then gets the fragments that changed since it last got them, as named SSE
events that ``htmx-ext-sse`` swaps into the page (``sse-swap="<name>"``); a new or
reconnected stream starts with all of them, so a page catches up after a drop.

Streams are bounded: :data:`MAX_STREAMS_PER_SESSION` per login session and
:data:`MAX_STREAMS` per process; past either, :meth:`LiveHub.open` raises
:class:`TooManyStreams` (the route answers 429). A stream ends after
:data:`STREAM_MAX_SECONDS` (the browser reconnects, so its login is checked again) and as soon
as the server is asked to stop: uvicorn waits for open responses before it shuts the app
down, so the hub chains its own step to the server's SIGTERM/SIGINT handler.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import signal
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from types import FrameType
from typing import Any, Final

from litestar.response.sse import ServerSentEventMessage

from app.telemetry.metrics import VigilMetrics
from app.ui.metrics_snapshot import take_snapshot
from app.ui.self_health import SnapshotRing

logger = logging.getLogger(__name__)

TICK_SECONDS: Final = 5.0
"""How often counters are snapshotted and live fragments re-rendered."""
RING_SECONDS: Final = 15 * 60
"""How far back the snapshots go (the longest window of ``/http``)."""
MAX_STREAMS_PER_SESSION: Final = 3
MAX_STREAMS: Final = 200
KEEPALIVE_SECONDS: Final = 15.0
"""A comment line this often keeps proxies from closing an idle stream."""
RETRY_MS: Final = 3000
"""Reconnect delay the stream asks the browser's EventSource for."""
STREAM_MAX_SECONDS: Final = 300.0
"""A stream ends after this long; the browser reconnects and its session is checked again."""
EXIT_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

Renderer = Callable[[], Awaitable[Mapping[str, str]]]
"""Renders the live fragments: ``{sse event name: HTML}``."""


class TooManyStreams(Exception):
    """Refused: the session (or the process) already holds its maximum of streams."""


class _Lease:
    """One open stream's slot; dropped from the hub when released or garbage-collected."""

    __slots__ = ("__weakref__", "session")

    def __init__(self, session: str) -> None:
        self.session = session


def session_key(cookie: str | None) -> str:
    """The key streams are counted under: a digest, so no session id is kept in memory."""
    return hashlib.sha256((cookie or "").encode()).hexdigest()[:32]


class LiveHub:
    """See the module docstring."""

    def __init__(
        self,
        metrics: VigilMetrics,
        *,
        tick: float = TICK_SECONDS,
        ring_seconds: float = RING_SECONDS,
        max_streams: int = MAX_STREAMS,
        max_per_session: int = MAX_STREAMS_PER_SESSION,
        stream_max_seconds: float = STREAM_MAX_SECONDS,
    ) -> None:
        self.metrics = metrics
        self.tick = tick
        self.ring = SnapshotRing(capacity=int(ring_seconds / tick) + 2)
        self.max_streams = max_streams
        self.max_per_session = max_per_session
        self.stream_max_seconds = stream_max_seconds
        self.closing = False
        self.renderer: Renderer | None = None
        self.fragments: dict[str, str] = {}
        self.rendered_at = -math.inf
        """Monotonic time of the last render (fragments older than a tick are re-rendered
        for a new stream: nobody may have been connected for a while)."""
        self._version = 0
        self._changed = asyncio.Event()
        self._refreshing = asyncio.Lock()
        self._leases: weakref.WeakSet[_Lease] = weakref.WeakSet()

    # -------------------------------------------------------------- lifecycle

    def sample(self) -> None:
        """Add a snapshot of the counters to the ring now."""
        self.ring.add(take_snapshot(self.metrics, at=time.monotonic()))

    @asynccontextmanager
    async def running(self, renderer: Renderer) -> AsyncIterator[None]:
        """Sample and refresh every ``tick`` seconds while the block runs."""
        self.renderer = renderer
        self.closing = False
        self.sample()
        task = asyncio.create_task(self._loop(), name="vigil-live-hub")
        try:
            with self._closing_on_exit_signals():
                yield
        finally:
            self.close_streams()
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    def close_streams(self) -> None:
        """End every open stream (its generator returns) and refuse none: a server that is
        stopping accepts no new connection anyway."""
        self.closing = True
        self._wake()

    @contextmanager
    def _closing_on_exit_signals(self) -> Iterator[None]:
        """Chain :meth:`close_streams` to the server's SIGINT/SIGTERM handlers (Python
        handlers only, e.g. uvicorn's), restored afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        previous = {sig: signal.getsignal(sig) for sig in EXIT_SIGNALS}

        def on_exit_signal(signum: int, frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(self.close_streams)
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, frame)

        chained = [sig for sig, handler in previous.items() if callable(handler)]
        for sig in chained:
            signal.signal(sig, on_exit_signal)
        try:
            yield
        finally:
            for sig in chained:
                if signal.getsignal(sig) is on_exit_signal:
                    signal.signal(sig, previous[sig])

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            self.sample()
            if self._leases:
                await self.refresh()

    async def refresh(self, *, max_age: float | None = None) -> None:
        """Render the fragments once (unless rendered less than ``max_age`` seconds ago) and
        wake the streams if any changed."""
        if self.renderer is None:
            return
        async with self._refreshing:
            if max_age is not None and time.monotonic() - self.rendered_at <= max_age:
                return  # another stream's connection just rendered them
            try:
                fragments = await self.renderer()
            except Exception:  # a database hiccup: keep what the pages show, retry next tick
                logger.warning("live fragments not refreshed", exc_info=True)
                return
            self.rendered_at = time.monotonic()
            if dict(fragments) != self.fragments:
                self.fragments = dict(fragments)
                self._version += 1
                self._wake()

    # -------------------------------------------------------------- streams

    @property
    def open_streams(self) -> int:
        return len(self._leases)

    def open(self, session: str) -> _Lease:
        """Take a stream slot for ``session``, or raise :class:`TooManyStreams`."""
        if len(self._leases) >= self.max_streams:
            raise TooManyStreams(
                f"this server already serves {self.max_streams} live streams; try again later"
            )
        if sum(1 for lease in self._leases if lease.session == session) >= self.max_per_session:
            raise TooManyStreams(
                f"at most {self.max_per_session} live streams per session: "
                "close another Vigil tab or window"
            )
        lease = _Lease(session)
        self._leases.add(lease)
        return lease

    async def stream(self, lease: _Lease) -> AsyncIterator[ServerSentEventMessage]:
        """The events of one connection until it is cancelled, the server stops or
        ``stream_max_seconds`` pass; its slot is released in every case."""
        sent: dict[str, str] = {}
        ends = time.monotonic() + self.stream_max_seconds
        try:
            yield ServerSentEventMessage(data=None, comment="connected", retry=RETRY_MS)
            await self.refresh(max_age=self.tick)
            while not self.closing:
                version = self._version
                for name, html in list(self.fragments.items()):
                    if sent.get(name) != html:
                        sent[name] = html
                        yield ServerSentEventMessage(event=name, data=html)
                left = ends - time.monotonic()
                if left <= 0:
                    return
                changed = await self._wait_change(version, min(KEEPALIVE_SECONDS, left))
                if not changed and time.monotonic() < ends:
                    yield ServerSentEventMessage(data=None, comment="keepalive")
        finally:
            self._leases.discard(lease)

    async def _wait_change(self, version: int, within: float) -> bool:
        if self._version != version:
            return True
        try:
            await asyncio.wait_for(self._changed.wait(), within)
        except TimeoutError:
            return False
        return True


def template_renderer(template_engine: Any) -> Callable[[str, Mapping[str, Any]], str]:
    """Render a template of the app's Jinja engine to a string (for fragments)."""

    def render(name: str, context: Mapping[str, Any]) -> str:
        html: str = template_engine.get_template(name).render(**context)
        return html

    return render
