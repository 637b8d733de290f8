"""View model of the "HTTP & SSE" page: Vigil's own routes and streams over a chosen window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from app.ui.charts import LineChart, line_chart
from app.ui.overview import (
    ERROR_RATIO_BAD,
    format_count,
    format_rate,
    format_ratio,
    format_seconds,
    window_label,
)
from app.ui.self_health import (
    Figures,
    SnapshotRing,
    figures,
    http_window,
    quantile_points,
    rate_points,
    route_figures,
    stream_figures,
)

RangeKey = Literal["1m", "5m", "15m"]
RANGES: Final[dict[str, int]] = {"1m": 60, "5m": 300, "15m": 900}
DEFAULT_RANGE: Final = "5m"


def range_choices(current: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) for the range picker."""
    return [(key, window_label(seconds), key == current) for key, seconds in RANGES.items()]


@dataclass(frozen=True, slots=True)
class FiguresLine:
    """One row of the routes table (or the totals), formatted."""

    route: str
    method: str
    requests: str
    rate: str
    error_ratio: str
    error_tone: str
    p50: str
    p95: str
    p99: str


def figures_line(route: str, method: str, one: Figures) -> FiguresLine:
    bad = one.error_ratio is not None and one.error_ratio > ERROR_RATIO_BAD
    return FiguresLine(
        route=route,
        method=method,
        requests=format_count(one.requests),
        rate=format_rate(one.rate),
        error_ratio=format_ratio(one.error_ratio),
        error_tone="bad" if bad else "ok",
        p50=format_seconds(one.p50),
        p95=format_seconds(one.p95),
        p99=format_seconds(one.p99),
    )


@dataclass(frozen=True, slots=True)
class StreamLine:
    stream: str
    active: str
    ok: str
    write_errors: str
    write_error_ratio: str
    disconnects: list[tuple[str, str]]
    """(reason, count) of connections closed in the window."""


@dataclass(frozen=True, slots=True)
class HttpView:
    window: str
    collecting: bool
    total: FiguresLine | None
    in_flight: str
    routes: list[FiguresLine]
    streams: list[StreamLine]
    rate_chart: LineChart
    latency_chart: LineChart
    chart_rows: list[tuple[str, str, str]]
    """(time, requests per second, p95) per interval, newest first."""


def http_view(
    ring: SnapshotRing, *, window_seconds: int, wall_now: datetime, monotonic_now: float
) -> HttpView:
    """Routes, streams and charts of the last ``window_seconds`` from the snapshot ring."""
    snapshots = ring.since(window_seconds)
    pair = ring.window(window_seconds)
    latest = ring.latest()
    label = window_label(window_seconds)

    def clock(at: float) -> str:
        return (wall_now - timedelta(seconds=monotonic_now - at)).strftime("%H:%M:%S")

    total = None
    routes: list[FiguresLine] = []
    if pair is not None:
        older, newer = pair
        window = http_window(newer, older)
        seconds = newer.at - older.at
        total = figures_line("All routes", "", figures(window, newer.bounds, seconds=seconds))
        routes = [
            figures_line(row.route, row.method, row.figures)
            for row in route_figures(window, newer.bounds, seconds=seconds)
        ]
    streams = [
        StreamLine(
            stream=row.stream,
            active=format_count(row.active),
            ok=format_count(row.messages.get("ok", 0.0)),
            write_errors=format_count(row.messages.get("write_error", 0.0)),
            write_error_ratio=format_ratio(row.write_error_ratio),
            disconnects=[
                (reason, format_count(count))
                for reason, count in sorted(row.disconnects.items())
                if count
            ],
        )
        for row in (stream_figures(latest, pair[0] if pair else None) if latest else [])
    ]
    rates = [(clock(at), value) for at, value in rate_points(snapshots)]
    p95s = [(clock(at), value) for at, value in quantile_points(snapshots, 0.95)]
    return HttpView(
        window=label,
        collecting=pair is None,
        total=total,
        in_flight=format_count(latest.in_flight if latest else 0),
        routes=routes,
        streams=streams,
        rate_chart=line_chart(
            rates,
            format_value=format_rate,
            description=_described("Requests per second", label, len(rates)),
        ),
        latency_chart=line_chart(
            p95s,
            format_value=_seconds_text,
            description=_described("p95 latency", label, len(p95s)),
        ),
        chart_rows=[
            (when, format_rate(rate), format_seconds(p95))
            for (when, rate), (_same, p95) in reversed(list(zip(rates, p95s, strict=True)))
        ],
    )


_seconds_text: Callable[[float], str] = format_seconds


def _described(what: str, label: str, points: int) -> str:
    if not points:
        return f"{what}: no interval measured yet in the last {label}."
    return (
        f"{what} of this replica per interval over the last {label} (UTC clock), {points} points."
    )
