"""View models of the overview: Vigil itself, its own HTTP health, and what needs attention
(alerts, services, tasks)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from app import __version__
from app.alerts.models import AlertRule, AlertSeries
from app.alerts.views import SeriesRow, series_rows, utc_text, when_text
from app.services.views import StateBadge
from app.ui.attention import SHOWN, ServiceCounts, TaskCounts
from app.ui.charts import LineChart, line_chart
from app.ui.self_health import (
    SnapshotRing,
    active_streams,
    figures,
    http_window,
    rate_points,
)

PROCESS_STARTED = time.monotonic()

_DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True, slots=True)
class SelfStatus:
    version: str
    environment: str
    uptime: str
    database: str
    scheduler: str


def format_uptime(seconds: float) -> str:
    """``"3 d 4 h"``, ``"2 h 5 min"``, ``"42 s"``: the two largest units."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {unit}" for value, unit in parts[:2])


def database_name(dialect: str) -> str:
    """A person's name for the database dialect."""
    return _DATABASE_NAMES.get(dialect, dialect)


def scheduler_status(*, enabled: bool, is_leader: bool, has_heartbeat: bool = True) -> str:
    """Whether this replica runs background jobs."""
    if not enabled:
        return "Disabled on this replica"
    if is_leader:
        return "Leader: this replica runs the jobs"
    if not has_heartbeat:
        return "Starting: lease not checked yet"
    return "Standby: not holding the lease"


def self_status(
    *,
    environment: str,
    dialect: str,
    scheduler_enabled: bool,
    is_leader: bool,
    has_heartbeat: bool = True,
    now: float,
) -> SelfStatus:
    """The health summary shown at the top of the overview."""
    return SelfStatus(
        version=__version__,
        environment=environment,
        uptime=format_uptime(now - PROCESS_STARTED),
        database=database_name(dialect),
        scheduler=scheduler_status(
            enabled=scheduler_enabled, is_leader=is_leader, has_heartbeat=has_heartbeat
        ),
    )


# ------------------------------------------------------------------ figures as text


def format_rate(per_second: float | None) -> str:
    """``12.3 req/s``, ``0.05 req/s``; ``—`` when unknown."""
    if per_second is None:
        return "—"
    if per_second == 0:
        return "0 req/s"
    if per_second < 0.1:
        return f"{per_second:.3f} req/s"
    if per_second < 10:
        return f"{per_second:.2f} req/s"
    return f"{per_second:,.1f} req/s"


def format_ratio(share: float | None) -> str:
    """``0 %``, ``1.25 %``, ``100 %``; ``—`` without requests."""
    if share is None:
        return "—"
    if share == 0:
        return "0 %"
    percent = share * 100
    return f"{percent:.3g} %" if percent < 100 else "100 %"


def format_seconds(seconds: float | None) -> str:
    """``4.2 ms``, ``180 ms``, ``1.25 s``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{seconds:.3g} s"


def format_count(value: float) -> str:
    return f"{value:,.0f}"


# ------------------------------------------------------------------ Vigil's own health

HEALTH_WINDOW_SECONDS: Final = 300
"""The overview's window: the last five minutes."""
ERROR_RATIO_BAD: Final = 0.05
"""Above this share of 5xx responses the overview flags Vigil's error ratio."""


@dataclass(frozen=True, slots=True)
class SelfHealth:
    """Request rate, 5xx share and p95 latency of this replica over a window, open SSE
    connections and requests in flight now, and the request rate as a chart."""

    window: str
    collecting: bool
    """Fewer than two snapshots so far: figures are not known yet."""
    rate: str
    error_ratio: str
    error_tone: str
    """``ok`` or ``bad`` (shown as a word and a symbol too)."""
    p95: str
    sse_active: str
    in_flight: str
    chart: LineChart
    chart_rows: list[tuple[str, str]]
    """The chart's data as (time, rate) table rows, newest first."""


def window_label(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def self_health(
    ring: SnapshotRing, *, window_seconds: float, wall_now: datetime, monotonic_now: float
) -> SelfHealth:
    """Vigil's own figures over the last ``window_seconds`` from the snapshot ring."""
    pair = ring.window(window_seconds)
    latest = ring.latest()
    overall = (
        figures(http_window(pair[1], pair[0]), pair[1].bounds, seconds=pair[1].at - pair[0].at)
        if pair
        else None
    )
    points = rate_points(ring.since(window_seconds))

    def clock(at: float) -> str:
        return (wall_now - timedelta(seconds=monotonic_now - at)).strftime("%H:%M:%S")

    values: list[tuple[str, float | None]] = [(clock(at), rate) for at, rate in points]
    error_ratio = overall.error_ratio if overall else None
    label = window_label(window_seconds)
    return SelfHealth(
        window=label,
        collecting=overall is None,
        rate=format_rate(overall.rate if overall else None),
        error_ratio=format_ratio(error_ratio),
        error_tone="bad" if error_ratio is not None and error_ratio > ERROR_RATIO_BAD else "ok",
        p95=format_seconds(overall.p95 if overall else None),
        sse_active=format_count(active_streams(latest)),
        in_flight=format_count(latest.in_flight if latest else 0),
        chart=line_chart(
            values,
            format_value=format_rate,
            description=(
                f"Requests per second served by this replica over the last {label} "
                f"(UTC clock), {len(values)} points."
                if values
                else f"No request rate measured yet over the last {label}."
            ),
        ),
        chart_rows=[(text, format_rate(value)) for text, value in reversed(values)],
    )


# ------------------------------------------------------------------ attention panels


@dataclass(frozen=True, slots=True)
class AlertPanel:
    firing: int
    pending: int
    rows: list[SeriesRow]
    """The first :data:`~app.ui.attention.SHOWN` series, firing first."""


def alert_panel(pairs: Sequence[tuple[AlertSeries, AlertRule]], now: datetime) -> AlertPanel:
    states = [series.state for series, _rule in pairs]
    return AlertPanel(
        firing=states.count("firing"),
        pending=states.count("pending"),
        rows=series_rows(pairs[:SHOWN], now),
    )


@dataclass(frozen=True, slots=True)
class StateCount:
    badge: StateBadge
    count: int


@dataclass(frozen=True, slots=True)
class DownLine:
    id: int
    name: str
    since: str
    since_utc: str


@dataclass(frozen=True, slots=True)
class ServicePanel:
    total: int
    counts: list[StateCount]
    """Up, down, paused and pending, in that order."""
    down: list[DownLine]
    more_down: int
    """Down services not listed."""


def service_panel(counts: ServiceCounts, now: datetime) -> ServicePanel:
    down_total = counts.by_state.get("down", 0)
    return ServicePanel(
        total=sum(counts.by_state.values()),
        counts=[
            StateCount(StateBadge.of(state), counts.by_state.get(state, 0))
            for state in ("up", "down", "paused", "pending")
        ],
        down=[
            DownLine(s.id, s.name, when_text(s.since, now), utc_text(s.since)) for s in counts.down
        ],
        more_down=max(0, down_total - len(counts.down)),
    )


TASK_STATUS_TEXT: Final[dict[str, tuple[str, str]]] = {
    "failed": ("✕", "Failed"),
    "overdue": ("⏱", "Overdue"),
}
"""Symbol and word per problem status: never colour alone."""


@dataclass(frozen=True, slots=True)
class TaskLine:
    id: int
    name: str
    owner: str
    """The service's name, or ``Vigil job``."""
    service_id: int | None
    status: str
    symbol: str
    label: str
    since: str
    since_utc: str
    last_run: str


@dataclass(frozen=True, slots=True)
class TaskPanel:
    total: int
    failed: int
    overdue: int
    rows: list[TaskLine]
    more: int


def task_panel(counts: TaskCounts, now: datetime) -> TaskPanel:
    failed = counts.by_status.get("failed", 0)
    overdue = counts.by_status.get("overdue", 0)
    return TaskPanel(
        total=counts.total,
        failed=failed,
        overdue=overdue,
        rows=[
            TaskLine(
                id=p.id,
                name=p.name,
                owner=p.service_name or "Vigil job",
                service_id=p.service_id,
                status=p.status,
                symbol=TASK_STATUS_TEXT.get(p.status, ("?", p.status))[0],
                label=TASK_STATUS_TEXT.get(p.status, ("?", p.status))[1],
                since=when_text(p.since, now),
                since_utc=utc_text(p.since),
                last_run=when_text(p.last_run_at, now),
            )
            for p in counts.problems
        ],
        more=max(0, failed + overdue - len(counts.problems)),
    )
