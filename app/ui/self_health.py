"""Vigil's own health from snapshots of its in-process HTTP and SSE counters.

A :class:`Snapshot` holds the cumulative counters at one moment (see
:mod:`app.ui.metrics_snapshot`); a :class:`SnapshotRing` keeps the last few minutes of them.
Everything else here is pure arithmetic on two snapshots, as Prometheus would do it::

    older, newer = ring.window(300)
    window = http_window(newer, older)           # per-series increases, resets handled
    overall = figures(window.values(), newer.bounds, seconds=newer.at - older.at)
    overall.rate, overall.error_ratio, overall.p95
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

SeriesKey = tuple[str, str, str]
"""``(route template, method, status class)`` as ``vigil_http_requests_total`` labels them."""

ERROR_CLASS: Final = "5xx"


@dataclass(frozen=True, slots=True)
class SeriesCounts:
    """One series' cumulative requests and latency histogram (cumulative per bound, the last
    entry is ``+Inf``). SSE requests are counted in ``requests`` but not timed."""

    requests: float
    buckets: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class StreamCounts:
    """One SSE stream: open connections now, messages by status, closes by reason."""

    active: float
    messages: Mapping[str, float] = field(default_factory=dict)
    disconnects: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The counters at ``at`` (monotonic seconds)."""

    at: float
    bounds: tuple[float, ...]
    """Finite upper bounds of the latency buckets, in seconds."""
    http: Mapping[SeriesKey, SeriesCounts]
    in_flight: float = 0.0
    streams: Mapping[str, StreamCounts] = field(default_factory=dict)


class SnapshotRing:
    """The latest ``capacity`` snapshots, oldest first."""

    def __init__(self, capacity: int) -> None:
        self._snapshots: deque[Snapshot] = deque(maxlen=capacity)

    def add(self, snapshot: Snapshot) -> None:
        self._snapshots.append(snapshot)

    def __len__(self) -> int:
        return len(self._snapshots)

    def latest(self) -> Snapshot | None:
        return self._snapshots[-1] if self._snapshots else None

    def since(self, seconds: float) -> list[Snapshot]:
        """Snapshots of the last ``seconds`` before the latest one, the latest included."""
        if not self._snapshots:
            return []
        start = self._snapshots[-1].at - seconds
        return [s for s in self._snapshots if s.at >= start]

    def window(self, seconds: float) -> tuple[Snapshot, Snapshot] | None:
        """The oldest snapshot at most ``seconds`` before the latest, and the latest; None
        while fewer than two snapshots fall in that span."""
        snapshots = self.since(seconds)
        if len(snapshots) < 2:
            return None
        return snapshots[0], snapshots[-1]


def increase(newer: float, older: float) -> float:
    """A counter's increase; a counter that went down was reset, so all of ``newer`` is new."""
    return newer - older if newer >= older else newer


def series_increase(newer: SeriesCounts, older: SeriesCounts | None) -> SeriesCounts:
    """What one series counted between two snapshots (a reset starts from zero)."""
    if older is None or newer.requests < older.requests or len(newer.buckets) != len(older.buckets):
        return newer
    if any(n < o for n, o in zip(newer.buckets, older.buckets, strict=True)):
        return newer
    return SeriesCounts(
        requests=newer.requests - older.requests,
        buckets=tuple(n - o for n, o in zip(newer.buckets, older.buckets, strict=True)),
    )


def http_window(newer: Snapshot, older: Snapshot) -> dict[SeriesKey, SeriesCounts]:
    """Each series' increase from ``older`` to ``newer`` (series with no request left out)."""
    window = {}
    for key, counts in newer.http.items():
        grown = series_increase(counts, older.http.get(key))
        if grown.requests > 0:
            window[key] = grown
    return window


def quantile(q: float, bounds: Sequence[float], cumulative: Sequence[float]) -> float | None:
    """The ``q``-quantile of a histogram, interpolated linearly inside its bucket like
    PromQL's ``histogram_quantile``; in the ``+Inf`` bucket, the highest finite bound.
    None when the histogram is empty."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be between 0 and 1, not {q}")
    if len(cumulative) != len(bounds) + 1:
        raise ValueError("cumulative needs one count per bound plus +Inf")
    total = cumulative[-1]
    if total <= 0:
        return None
    rank = q * total
    previous = 0.0
    for index, count in enumerate(cumulative):
        if count >= rank and count > previous:
            if index == len(bounds):
                return bounds[-1] if bounds else None
            lower = bounds[index - 1] if index > 0 else 0.0
            upper = bounds[index]
            return lower + (upper - lower) * (rank - previous) / (count - previous)
        previous = count
    return bounds[-1] if bounds else None


def merged_buckets(series: Iterable[SeriesCounts], size: int) -> tuple[float, ...]:
    """The sum of several series' cumulative buckets."""
    total = [0.0] * size
    for one in series:
        for index, count in enumerate(one.buckets):
            total[index] += count
    return tuple(total)


def ratio(part: float, whole: float) -> float | None:
    """``part / whole``, None when ``whole`` is zero."""
    return part / whole if whole > 0 else None


@dataclass(frozen=True, slots=True)
class Figures:
    """Requests of a window: count, rate, 5xx share and latency quantiles (seconds)."""

    requests: float
    rate: float | None
    """Requests per second."""
    error_ratio: float | None
    """Share of 5xx responses (0..1)."""
    p50: float | None
    p95: float | None
    p99: float | None


def figures(
    window: Mapping[SeriesKey, SeriesCounts], bounds: Sequence[float], *, seconds: float
) -> Figures:
    """Totals of the given series over a window of ``seconds``."""
    requests = sum(counts.requests for counts in window.values())
    errors = sum(counts.requests for key, counts in window.items() if key[2] == ERROR_CLASS)
    cumulative = merged_buckets(window.values(), len(bounds) + 1)
    return Figures(
        requests=requests,
        rate=requests / seconds if seconds > 0 else None,
        error_ratio=ratio(errors, requests),
        p50=quantile(0.5, bounds, cumulative),
        p95=quantile(0.95, bounds, cumulative),
        p99=quantile(0.99, bounds, cumulative),
    )


@dataclass(frozen=True, slots=True)
class RouteFigures:
    route: str
    method: str
    figures: Figures


def route_figures(
    window: Mapping[SeriesKey, SeriesCounts], bounds: Sequence[float], *, seconds: float
) -> list[RouteFigures]:
    """Figures per (route, method), busiest first."""
    grouped: dict[tuple[str, str], dict[SeriesKey, SeriesCounts]] = {}
    for key, counts in window.items():
        grouped.setdefault((key[0], key[1]), {})[key] = counts
    rows = [
        RouteFigures(route, method, figures(series, bounds, seconds=seconds))
        for (route, method), series in grouped.items()
    ]
    rows.sort(key=lambda row: (-row.figures.requests, row.route, row.method))
    return rows


def rate_points(snapshots: Sequence[Snapshot]) -> list[tuple[float, float]]:
    """``(at, requests per second)`` between each pair of consecutive snapshots."""
    points = []
    for older, newer in itertools.pairwise(snapshots):
        seconds = newer.at - older.at
        if seconds <= 0:
            continue
        requests = sum(counts.requests for counts in http_window(newer, older).values())
        points.append((newer.at, requests / seconds))
    return points


@dataclass(frozen=True, slots=True)
class StreamFigures:
    """One SSE stream: open now, and what happened to its messages and connections in the
    window (``None`` rates before a window exists)."""

    stream: str
    active: float
    messages: dict[str, float]
    disconnects: dict[str, float]
    write_error_ratio: float | None


def stream_figures(newer: Snapshot, older: Snapshot | None) -> list[StreamFigures]:
    """Per stream, open connections now and increases of its counters since ``older`` (all
    counted so far without ``older``)."""
    rows = []
    for name, counts in sorted(newer.streams.items()):
        before = older.streams.get(name) if older is not None else None
        messages = {
            status: increase(value, before.messages.get(status, 0.0) if before else 0.0)
            for status, value in counts.messages.items()
        }
        disconnects = {
            reason: increase(value, before.disconnects.get(reason, 0.0) if before else 0.0)
            for reason, value in counts.disconnects.items()
        }
        rows.append(
            StreamFigures(
                stream=name,
                active=counts.active,
                messages=messages,
                disconnects=disconnects,
                write_error_ratio=ratio(messages.get("write_error", 0.0), sum(messages.values())),
            )
        )
    return rows


def active_streams(snapshot: Snapshot | None) -> float:
    """Open SSE connections of every stream."""
    if snapshot is None:
        return 0.0
    return sum(counts.active for counts in snapshot.streams.values())


def quantile_points(snapshots: Sequence[Snapshot], q: float) -> list[tuple[float, float | None]]:
    """``(at, q-quantile of latency in seconds)`` between consecutive snapshots (None when
    nothing was timed in that interval)."""
    points: list[tuple[float, float | None]] = []
    for older, newer in itertools.pairwise(snapshots):
        if newer.at <= older.at:
            continue
        window = http_window(newer, older)
        cumulative = merged_buckets(window.values(), len(newer.bounds) + 1)
        points.append((newer.at, quantile(q, newer.bounds, cumulative)))
    return points
