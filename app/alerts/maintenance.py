"""Maintenance windows: when is one active, and which notifications it holds back.

A ``once`` window is active in ``[starts_at, ends_at)``; a ``weekly`` one every
``weekday`` (0 = Monday) from ``start_time`` in its ``timezone`` for ``duration_minutes``
(DST-aware: 02:00 Europe/Berlin stays 02:00 local). A window with a ``service_id``
covers that service's alerts only (series labelled ``service="<its name>"``); without one
it covers every alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Final, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_WEEKLY_MINUTES: Final = 7 * 24 * 60


class WindowLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def service_id(self) -> int | None: ...
    @property
    def starts_at(self) -> datetime | None: ...
    @property
    def ends_at(self) -> datetime | None: ...
    @property
    def weekday(self) -> int | None: ...
    @property
    def start_time(self) -> time | None: ...
    @property
    def duration_minutes(self) -> int | None: ...
    @property
    def timezone(self) -> str | None: ...


W = TypeVar("W", bound=WindowLike)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; raises ValueError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as Europe/Berlin)"
        ) from None


def is_active(window: WindowLike, now: datetime) -> bool:
    """True when ``window`` covers ``now`` (UTC-aware)."""
    if window.kind == "once":
        return (
            window.starts_at is not None
            and window.ends_at is not None
            and window.starts_at <= now < window.ends_at
        )
    if window.weekday is None or window.start_time is None or not window.duration_minutes:
        return False
    try:
        tz = zone(window.timezone or "UTC")
    except ValueError:
        return False
    duration = timedelta(minutes=min(window.duration_minutes, MAX_WEEKLY_MINUTES))
    local_today = now.astimezone(tz).date()
    for days_back in range(8):
        day = local_today - timedelta(days=days_back)
        if day.weekday() != window.weekday:
            continue
        start = datetime.combine(day, window.start_time, tzinfo=tz)
        if start <= now < start + duration:
            return True
    return False


def active_windows(windows: Iterable[W], now: datetime) -> list[W]:
    """The windows active at ``now``."""
    return [window for window in windows if is_active(window, now)]
