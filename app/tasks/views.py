"""What the task pages show: badges, durations, relative times, sparklines, the schedule form.

Pure functions of values and ``now``; the templates only place them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from app.tasks.schedules import (
    MAX_GRACE_SECONDS,
    MAX_PERIOD_SECONDS,
    MAX_RUN_SECONDS,
    MIN_PERIOD_SECONDS,
    Schedule,
    ScheduleError,
    check_timezone,
    cron_trigger,
)

SPARK_WIDTH: Final = 120
SPARK_HEIGHT: Final = 24
SPARK_RUNS: Final = 20
"""Finished runs drawn in a task's duration trend."""


@dataclass(frozen=True, slots=True)
class Badge:
    """A state as a symbol and a word (tone only reinforces it): ok | bad | warn | neutral."""

    tone: str
    symbol: str
    label: str


TASK_BADGES: Final = {
    "new": Badge("neutral", "○", "New"),
    "running": Badge("neutral", "▶", "Running"),
    "up": Badge("ok", "✓", "Up"),
    "failed": Badge("bad", "✕", "Failed"),
    "overdue": Badge("warn", "⏱", "Overdue"),
    "paused": Badge("neutral", "‖", "Paused"),
}
RUN_BADGES: Final = {
    "running": Badge("neutral", "▶", "Running"),
    "success": Badge("ok", "✓", "Success"),
    "error": Badge("bad", "✕", "Failed"),
    "cancelled": Badge("neutral", "⊘", "Cancelled"),
    "timeout": Badge("bad", "⏱", "Timed out"),
    "log": Badge("neutral", "✎", "Log"),
}


def task_badge(status: str) -> Badge:
    return TASK_BADGES.get(status, Badge("neutral", "?", status))


def run_badge(status: str) -> Badge:
    return RUN_BADGES.get(status, Badge("neutral", "?", status))


def duration_text(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def span_text(seconds: int) -> str:
    """Seconds in the largest exact unit: ``90 s``, ``5 min``, ``1 h``, ``2 d``."""
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def relative_text(when: datetime | None, now: datetime) -> str:
    """``3 min ago`` / ``in 2 h`` (rounded down), ``never`` for None."""
    if when is None:
        return "never"
    delta = (when - now).total_seconds()
    size = abs(delta)
    if size < 60:
        amount = f"{int(size)} s"
    elif size < 3600:
        amount = f"{int(size // 60)} min"
    elif size < 86_400:
        amount = f"{int(size // 3600)} h"
    else:
        amount = f"{int(size // 86_400)} d"
    return f"in {amount}" if delta > 0 else f"{amount} ago"


def utc_text(when: datetime | None) -> str:
    return "" if when is None else f"{when:%Y-%m-%d %H:%M:%S} UTC"


def schedule_text(schedule: Schedule) -> str:
    """``every 1 d, grace 1 h`` or ``cron 0 3 * * * (Europe/Paris), grace 15 min``."""
    grace = span_text(schedule.grace_seconds)
    if schedule.kind == "cron":
        return f"cron {schedule.cron_expression} ({schedule.timezone}), grace {grace}"
    return f"every {span_text(schedule.period_seconds)}, grace {grace}"


@dataclass(frozen=True, slots=True)
class Sparkline:
    """An inline SVG polyline of run durations, oldest to newest, failed runs marked."""

    points: str
    failures: list[tuple[float, float]]
    label: str
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


def sparkline(runs: Sequence[tuple[str, float | None]]) -> Sparkline | None:
    """From (status, duration) of recent finished runs, oldest first; None under two durations."""
    timed = [(status, d) for status, d in runs if d is not None]
    if len(timed) < 2:
        return None
    longest = max(d for _, d in timed) or 1.0
    step = (SPARK_WIDTH - 4) / (len(timed) - 1)
    coords = [
        (2 + i * step, SPARK_HEIGHT - 2 - (d / longest) * (SPARK_HEIGHT - 4))
        for i, (_, d) in enumerate(timed)
    ]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    failures = [xy for xy, (status, _) in zip(coords, timed, strict=True) if status != "success"]
    shortest = min(d for _, d in timed)
    label = (
        f"Duration of the last {len(timed)} runs: {duration_text(shortest)} to "
        f"{duration_text(longest)}, latest {duration_text(timed[-1][1])}"
        + (f"; {len(failures)} failed" if failures else "")
    )
    return Sparkline(points, failures, label)


@dataclass
class ScheduleForm:
    """The schedule form as posted (every field a string)."""

    kind: str = "period"
    period_seconds: str = "86400"
    grace_seconds: str = "3600"
    cron_expression: str = ""
    timezone: str = "UTC"
    max_run_seconds: str = "3600"
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, task: Any) -> ScheduleForm:
        return cls(
            kind=task.schedule_kind,
            period_seconds=str(task.period_seconds),
            grace_seconds=str(task.grace_seconds),
            cron_expression=task.cron_expression or "",
            timezone=task.timezone,
            max_run_seconds=str(task.max_run_seconds),
        )

    def parsed(self) -> tuple[Schedule, int] | None:
        """(schedule, max run seconds), or None with :attr:`errors` set per field."""
        self.errors = {}
        kind = self.kind.strip()
        if kind not in ("period", "cron"):
            self.errors["kind"] = "Choose a period or a cron expression."
        period = self._int("period_seconds", MIN_PERIOD_SECONDS, MAX_PERIOD_SECONDS)
        grace = self._int("grace_seconds", 0, MAX_GRACE_SECONDS)
        max_run = self._int("max_run_seconds", 1, MAX_RUN_SECONDS)
        zone = self.timezone.strip()
        try:
            check_timezone(zone)
        except ScheduleError as exc:
            self.errors["timezone"] = str(exc)
        expression = " ".join(self.cron_expression.split()) or None
        if kind == "cron" and "timezone" not in self.errors:
            if expression is None:
                self.errors["cron_expression"] = "A cron schedule needs an expression."
            else:
                try:
                    cron_trigger(expression, zone)
                except ScheduleError as exc:
                    self.errors["cron_expression"] = str(exc)
        if self.errors or period is None or grace is None or max_run is None:
            return None
        schedule = Schedule(
            kind=kind,
            period_seconds=period,
            grace_seconds=grace,
            cron_expression=expression if kind == "cron" else None,
            timezone=zone,
        )
        return schedule, max_run

    def _int(self, name: str, low: int, high: int) -> int | None:
        raw = str(getattr(self, name)).strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            self.errors[name] = f"Enter a whole number of seconds from {low} to {high}."
            return None
        return int(raw)
