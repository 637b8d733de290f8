"""View models of the services pages: the form, list rows, the history chart and metrics.

Pure functions of values and ``now``; the pages only gather rows and render these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from app.services import registry
from app.services.models import Service, ServiceCheck
from app.services.queries import NO_HEALTH, WINDOWS, Bucket, Health, Uptime
from app.ui.charts import ChartPoint, nice_ceiling

NO_VALUE: Final = "\u2013"
"""An en dash: what a cell without data shows."""
NBSP: Final = "\u00a0"

STATE_LABELS: Final[dict[str, str]] = {
    "pending": "Pending",
    "up": "Up",
    "down": "Down",
    "paused": "Paused",
}
STATE_SYMBOLS: Final[dict[str, str]] = {"pending": "…", "up": "✓", "down": "✕", "paused": "‖"}
"""A shape per state, so a state never relies on colour alone."""
WINDOW_LABELS: Final[dict[str, str]] = {"24h": "24 h", "7d": "7 d", "30d": "30 d"}
DEFAULT_RANGE: Final = "24h"
CHART_BUCKETS: Final = 288
"""Slices of the chart's range: 5 min over 24 h, 35 min over 7 d, 2.5 h over 30 d."""
METRICS_SHOWN: Final = 200
"""Rows of the scraped-metrics table at most (the filter narrows them)."""


# --------------------------------------------------------------------------- formatting


def format_ms(value: float | None) -> str:
    """``87 ms``, ``1.25 s`` (with a no-break space), or a dash."""
    if value is None:
        return NO_VALUE
    if value < 1000:
        return f"{value:.0f}{NBSP}ms"
    return f"{value / 1000:.2f}{NBSP}s"


def format_uptime(uptime: Uptime) -> str:
    """``99.95 %`` rounded down (so 99.999 % never reads as 100 %), or a dash without checks."""
    share = uptime.share
    if share is None:
        return NO_VALUE
    if share == 1:
        return f"100{NBSP}%"
    return f"{math.floor(share * 10_000) / 100:.2f}{NBSP}%"


def format_duration(seconds: float) -> str:
    """``45 s``, ``3 min``, ``2 h``, ``5 d`` (the largest whole unit)."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size}{NBSP}{unit}"
    return f"{seconds}{NBSP}s"


def ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = (now - then).total_seconds()
    return "just now" if seconds < 1 else f"{format_duration(seconds)} ago"


def due(then: datetime, now: datetime) -> str:
    seconds = (then - now).total_seconds()
    return "due now" if seconds < 1 else f"in {format_duration(seconds)}"


def stamp(moment: datetime) -> str:
    """``2026-11-23 18:52:14 UTC``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True, slots=True)
class StateBadge:
    state: str
    label: str
    symbol: str

    @classmethod
    def of(cls, state: str) -> StateBadge:
        return cls(state, STATE_LABELS.get(state, state), STATE_SYMBOLS.get(state, "?"))


# --------------------------------------------------------------------------- the form


@dataclass
class ServiceForm:
    """The service form as posted (strings; a checkbox left unticked is not sent)."""

    name: str = ""
    base_url: str = ""
    health_path: str = registry.DEFAULT_HEALTH_PATH
    expected_status: str = str(registry.DEFAULT_EXPECTED_STATUS)
    metrics_path: str = ""
    interval_seconds: str = str(registry.DEFAULT_INTERVAL_SECONDS)
    timeout_seconds: str = f"{registry.DEFAULT_TIMEOUT_SECONDS:g}"
    labels: str = ""
    enabled: str = ""

    def parsed(self) -> registry.ServiceFields:
        """The fields as typed values; raises :class:`registry.ServiceError` for bad input."""
        return registry.ServiceFields(
            name=self.name,
            base_url=self.base_url,
            health_path=self.health_path,
            expected_status=_int(self.expected_status, "expected status"),
            metrics_path=self.metrics_path.strip() or None,
            interval_seconds=_int(self.interval_seconds, "interval"),
            timeout_seconds=_float(self.timeout_seconds, "timeout"),
            labels=parse_labels(self.labels),
            enabled=bool(self.enabled),
        )

    @classmethod
    def new(cls) -> ServiceForm:
        return cls(enabled="on")

    @classmethod
    def of(cls, service: Service) -> ServiceForm:
        return cls(
            name=service.name,
            base_url=service.base_url,
            health_path=service.health_path,
            expected_status=str(service.expected_status),
            metrics_path=service.metrics_path or "",
            interval_seconds=str(service.interval_seconds),
            timeout_seconds=f"{service.timeout_seconds:g}",
            labels=format_labels(service.labels),
            enabled="on" if service.enabled else "",
        )


_FIELD_NAMES: Final = {
    "expected status": "expected_status",
    "interval": "interval_seconds",
    "timeout": "timeout_seconds",
}


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _not_a_number(text, what, "a whole number") from None


def _float(text: str, what: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise _not_a_number(text, what, "a number") from None
    return value


def _not_a_number(text: str, what: str, noun: str) -> registry.ServiceError:
    return registry.ServiceError(
        f"{what} must be {noun}, got {text.strip() or '(empty)'!r}", field=_FIELD_NAMES[what]
    )


def parse_labels(text: str) -> dict[str, str]:
    """``name=value`` lines (blank lines skipped) as a dict; a line without ``=`` is refused."""
    labels: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise registry.ServiceError(
                f"label line {line.strip()!r} must look like name=value", field="labels"
            )
        labels[name.strip()] = value.strip()
    return labels


def format_labels(labels: dict[str, str]) -> str:
    return "\n".join(f"{name}={value}" for name, value in labels.items())


# --------------------------------------------------------------------------- the list


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One service in the list: state, uptime per window, p95 latency, last and next check."""

    id: int
    name: str
    target: str
    state: StateBadge
    uptime: list[tuple[str, str]]
    """(window label, formatted uptime) for 24 h, 7 d, 30 d."""
    p95: str
    p95_title: str
    last_check: str
    last_check_at: str | None
    next_check: str


def service_row(service: Service, health: Health | None, *, now: datetime) -> ServiceRow:
    health = health or NO_HEALTH
    return ServiceRow(
        id=service.id,
        name=service.name,
        target=service.base_url + service.health_path,
        state=StateBadge.of(service.state),
        uptime=[(WINDOW_LABELS[w], format_uptime(health.uptime[w])) for w in WINDOWS],
        p95=format_ms(health.p95_ms),
        p95_title=f"nearest-rank p95 of {health.latency_samples} responses in the last 24 h",
        last_check=ago(service.last_check_at, now),
        last_check_at=stamp(service.last_check_at) if service.last_check_at else None,
        next_check=due(service.next_check_at, now) if service.enabled else "paused",
    )


def service_rows(
    services: Iterable[Service], health: dict[int, Health], *, now: datetime
) -> list[ServiceRow]:
    return [service_row(s, health.get(s.id), now=now) for s in services]


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One stored check result, formatted."""

    at: str
    ok: bool
    status: str
    latency: str
    error: str | None
    detail: str | None


def check_lines(checks: Iterable[ServiceCheck]) -> list[CheckLine]:
    return [
        CheckLine(
            at=stamp(c.checked_at),
            ok=c.ok,
            status=str(c.status_code) if c.status_code is not None else NO_VALUE,
            latency=format_ms(c.latency_ms),
            error=c.error,
            detail=c.detail,
        )
        for c in checks
    ]


# --------------------------------------------------------------------------- the chart


@dataclass(frozen=True, slots=True)
class FailureMark:
    x: float
    width: float
    label: str


@dataclass(frozen=True, slots=True)
class HistoryChart:
    """Average latency per slice as polylines, failed checks as marks under the plot."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    fail_y: int
    segments: list[str]
    """``points`` of each polyline; a slice without latency breaks the line."""
    points: list[ChartPoint]
    failures: list[FailureMark]
    x_labels: list[tuple[float, str, str]]
    """(x, text, text-anchor)."""
    y_max_label: str
    description: str
    has_data: bool


CHART_WIDTH: Final = 720
CHART_HEIGHT: Final = 200
_LEFT, _RIGHT, _TOP, _BOTTOM, _FAIL_Y = 52, 710, 12, 160, 166


def history_chart(
    buckets: Sequence[Bucket], *, range_key: str, since: datetime, until: datetime
) -> HistoryChart:
    """Scale the slices into a ``CHART_WIDTH`` x ``CHART_HEIGHT`` view box."""
    values = [b.avg_ms for b in buckets if b.avg_ms is not None]
    top = nice_ceiling(max(values, default=0.0) * 1.1)
    step = (_RIGHT - _LEFT) / max(1, len(buckets))

    def x_of(index: int) -> float:
        return round(_LEFT + step * (index + 0.5), 1)

    def y_of(value: float) -> float:
        return round(_BOTTOM - (_BOTTOM - _TOP) * min(value, top) / top, 1)

    segments: list[str] = []
    current: list[str] = []
    failures = []
    points: list[ChartPoint] = []
    for index, bucket in enumerate(buckets):
        if bucket.avg_ms is None:
            if current:
                segments.append(" ".join(current))
            current = []
        else:
            x, y = x_of(index), y_of(bucket.avg_ms)
            current.append(f"{x},{y}")
            points.append(
                ChartPoint(
                    x=x,
                    y=y,
                    label=f"{stamp(bucket.start)}: average {format_ms(bucket.avg_ms)}, "
                    f"max {format_ms(bucket.max_ms)} ({bucket.checks} checks)",
                )
            )
        if bucket.failed:
            failures.append(
                FailureMark(
                    x=round(_LEFT + step * index, 1),
                    width=round(max(step, 2.0), 1),
                    label=f"{stamp(bucket.start)}: {bucket.failed} of {bucket.checks} "
                    f"checks failed",
                )
            )
    if current:
        segments.append(" ".join(current))
    failed = sum(b.failed for b in buckets)
    checks = sum(b.checks for b in buckets)
    label = WINDOW_LABELS.get(range_key, range_key)
    description = (
        f"Average latency of {checks} checks over the last {label}, "
        f"from {stamp(since)} to {stamp(until)}; {failed} failed "
        f"{'check' if failed == 1 else 'checks'} marked below the line."
        if checks
        else f"No checks in the last {label}."
    )
    fmt = "%H:%M" if until - since <= timedelta(days=1) else "%b %d"
    return HistoryChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        plot_left=_LEFT,
        plot_right=_RIGHT,
        plot_top=_TOP,
        plot_bottom=_BOTTOM,
        fail_y=_FAIL_Y,
        segments=segments,
        points=points,
        failures=failures,
        x_labels=[
            (float(_LEFT), since.strftime(fmt), "start"),
            ((_LEFT + _RIGHT) / 2, (since + (until - since) / 2).strftime(fmt), "middle"),
            (float(_RIGHT), until.strftime(fmt), "end"),
        ],
        y_max_label=format_ms(top),
        description=description,
        has_data=checks > 0,
    )


@dataclass(frozen=True, slots=True)
class BucketLine:
    start: str
    checks: int
    failed: int
    avg: str
    max: str


def bucket_lines(buckets: Sequence[Bucket]) -> list[BucketLine]:
    """The chart's data as table rows, newest first, slices without checks left out."""
    return [
        BucketLine(
            start=stamp(b.start),
            checks=b.checks,
            failed=b.failed,
            avg=format_ms(b.avg_ms),
            max=format_ms(b.max_ms),
        )
        for b in reversed(buckets)
        if b.checks
    ]


def range_bounds(range_key: str, now: datetime) -> tuple[datetime, datetime]:
    """``[since, until)`` of a range ending now, ``until`` rounded up to the next minute
    so the slices stay put between page loads within a minute."""
    until = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return until - WINDOWS[range_key], until


# --------------------------------------------------------------------------- scraped metrics


class SampleLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def value(self) -> float: ...


class ScrapeLike(Protocol):
    """What the page reads of ``app.services.scrapes.Scrape``."""

    @property
    def scraped_at(self) -> datetime: ...
    @property
    def samples(self) -> Sequence[SampleLike]: ...
    @property
    def series_dropped(self) -> int: ...
    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class MetricLine:
    name: str
    labels: str
    value: str


@dataclass(frozen=True, slots=True)
class MetricsView:
    """The latest scrape's samples whose name contains the filter, at most ``METRICS_SHOWN``."""

    scraped: bool
    scraped_at: str | None
    scraped_ago: str | None
    error: str | None
    series_dropped: int
    total: int
    matched: int
    lines: list[MetricLine]
    query: str


def _value_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}" if not float(value).is_integer() or abs(value) >= 1e15 else f"{value:.0f}"


def metrics_view(
    scrape: ScrapeLike | None, *, query: str, now: datetime, limit: int = METRICS_SHOWN
) -> MetricsView:
    """Filter by a case-insensitive substring of the metric name; sorted by name, labels."""
    needle = query.strip().lower()
    if scrape is None:
        return MetricsView(False, None, None, None, 0, 0, 0, [], query.strip())
    matching = [s for s in scrape.samples if needle in s.name.lower()]
    matching.sort(key=lambda s: (s.name, sorted(s.labels.items())))
    lines = [
        MetricLine(
            name=s.name,
            labels=", ".join(f'{k}="{v}"' for k, v in sorted(s.labels.items())),
            value=_value_text(s.value),
        )
        for s in matching[:limit]
    ]
    return MetricsView(
        scraped=True,
        scraped_at=stamp(scrape.scraped_at),
        scraped_ago=ago(scrape.scraped_at, now),
        error=scrape.error,
        series_dropped=scrape.series_dropped,
        total=len(scrape.samples),
        matched=len(matching),
        lines=lines,
        query=query.strip(),
    )


def range_choices(current: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of the chart's ranges."""
    return [(key, WINDOW_LABELS[key], key == current) for key in WINDOWS]
