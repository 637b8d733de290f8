"""When a task's next run is expected and whether it is late: pure functions of a schedule.

Two kinds, as in Healthchecks.io:

* ``period``: a run is expected ``period_seconds`` after the last one ended;
* ``cron``: at the next time a five-field crontab expression fires in ``timezone`` after the
  last run (APScheduler's :class:`CronTrigger` does the calendar arithmetic, DST included).

Either way a task is *overdue* once ``grace_seconds`` have passed after the expected time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

MIN_PERIOD_SECONDS: Final = 60
"""Shortest period a user may set (Vigil's own jobs may run more often)."""
MAX_PERIOD_SECONDS: Final = 366 * 86_400
MAX_GRACE_SECONDS: Final = 366 * 86_400
MAX_RUN_SECONDS: Final = 7 * 86_400


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A task's schedule, as stored on its row."""

    kind: str = "period"
    period_seconds: int = 86_400
    grace_seconds: int = 3600
    cron_expression: str | None = None
    timezone: str = "UTC"

    def next_expected(self, after: datetime) -> datetime:
        """When the next run should have happened, given a run at ``after`` (UTC)."""
        if self.kind == "cron":
            trigger = cron_trigger(self.cron_expression or "", self.timezone)
            fire: datetime | None = trigger.get_next_fire_time(None, after + _ONE_SECOND)
            if fire is None:  # pragma: no cover - a five-field crontab always fires again
                raise ScheduleError(f"cron expression {self.cron_expression!r} never fires")
            return fire.astimezone(UTC)
        return after + timedelta(seconds=self.period_seconds)

    def overdue_at(self, next_expected: datetime) -> datetime:
        """When a task expected at ``next_expected`` becomes overdue."""
        return next_expected + timedelta(seconds=self.grace_seconds)

    def deadlines(self, after: datetime) -> tuple[datetime, datetime]:
        """(next expected, overdue at) after a run at ``after``."""
        expected = self.next_expected(after)
        return expected, self.overdue_at(expected)


_ONE_SECOND = timedelta(seconds=1)
"""A run that pings exactly at a firing time expects the *next* firing, not this one."""


def is_overdue(overdue_at: datetime | None, now: datetime) -> bool:
    """True when the grace time after the expected run has passed (never before a first run)."""
    return overdue_at is not None and now >= overdue_at


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """The trigger for a five-field crontab expression; raises :class:`ScheduleError`."""
    zone = check_timezone(timezone)
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"cron expression must have 5 fields (minute hour day month weekday), "
            f"got {len(fields)}: {expression!r}"
        )
    try:
        return CronTrigger.from_crontab(" ".join(fields), timezone=zone)
    except ValueError as exc:
        raise ScheduleError(f"cron expression {expression!r} is not valid: {exc}") from None


def check_timezone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; raises :class:`ScheduleError` naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Paris)"
        ) from None
