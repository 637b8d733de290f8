"""Maintenance windows: one-off and weekly in a time zone (DST included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

import pytest

from app.alerts.maintenance import active_windows, is_active, zone


@dataclass
class Window:
    kind: str
    service_id: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    weekday: int | None = None
    start_time: time | None = None
    duration_minutes: int | None = None
    timezone: str | None = None


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_one_off_window_is_active_from_start_until_before_end() -> None:
    window = Window("once", starts_at=utc(2026, 11, 23, 10), ends_at=utc(2026, 11, 23, 11))
    assert not is_active(window, utc(2026, 11, 23, 9, 59))
    assert is_active(window, utc(2026, 11, 23, 10))
    assert not is_active(window, utc(2026, 11, 23, 11))


# Sundays 02:00-04:00 Europe/Berlin: UTC+1 in winter, UTC+2 in summer.
SUNDAY_NIGHT = Window(
    "weekly", weekday=6, start_time=time(2, 0), duration_minutes=120, timezone="Europe/Berlin"
)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 22, 0, 59), False),  # Sunday 01:59 Berlin (winter)
        (utc(2026, 11, 22, 1, 0), True),  # 02:00 Berlin
        (utc(2026, 11, 22, 2, 59), True),
        (utc(2026, 11, 22, 3, 0), False),  # 04:00 Berlin
        (utc(2026, 7, 12, 0, 30), True),  # Sunday 02:30 Berlin (summer, UTC+2)
        (utc(2026, 7, 12, 2, 30), False),
        (utc(2026, 11, 23, 1, 30), False),  # Monday
    ],
)
def test_weekly_window_follows_its_time_zone(now: datetime, expected: bool) -> None:
    assert is_active(SUNDAY_NIGHT, now) is expected


def test_weekly_window_may_run_past_midnight_into_the_next_day() -> None:
    window = Window(
        "weekly", weekday=4, start_time=time(22, 0), duration_minutes=6 * 60, timezone="UTC"
    )
    assert is_active(window, utc(2026, 11, 28, 3, 0))  # Saturday 03:00, started Friday
    assert not is_active(window, utc(2026, 11, 28, 4, 0))


def test_active_windows_filters_and_unknown_zone_is_an_error() -> None:
    on = Window("once", starts_at=utc(2026, 1, 1), ends_at=utc(2027, 1, 1))
    off = Window("once", starts_at=utc(2025, 1, 1), ends_at=utc(2025, 1, 2))
    assert active_windows([on, off], utc(2026, 6, 1)) == [on]
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus")
