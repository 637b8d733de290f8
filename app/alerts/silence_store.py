"""Silences and maintenance windows as rows: check the input, create, list, expire, delete.

Validation is pure (``check_silence``, ``check_window``) and raises :class:`InputError`
naming the field; the async functions take a session and do not commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import AlertSilence, MaintenanceWindow
from app.alerts.silences import Matcher, MatcherError, parse_matcher
from app.alerts.silences import matchers_from_json as parse_json_matchers
from app.services.models import Service

MAX_COMMENT: Final = 500
MAX_NAME: Final = 200
MAX_MATCHERS: Final = 20
MAX_DURATION_MINUTES: Final = 7 * 24 * 60
EXPIRED_SHOWN: Final = 50
DEFAULT_SILENCE: Final = timedelta(hours=2)
"""How long a new silence lasts unless told otherwise (the form's default end)."""
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SilenceStatus = Literal["active", "pending", "expired"]


class InputError(ValueError):
    """Input that cannot be saved; ``field`` names it and the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFoundError(LookupError):
    """No row with that id."""


@dataclass(frozen=True, slots=True)
class SilenceFields:
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime
    comment: str


@dataclass(frozen=True, slots=True)
class WindowFields:
    name: str
    service_id: int | None
    kind: Literal["once", "weekly"]
    starts_at: datetime | None
    ends_at: datetime | None
    weekday: int | None
    start_time: time | None
    duration_minutes: int | None
    timezone: str | None
    comment: str


def silence_status(silence: AlertSilence, now: datetime) -> SilenceStatus:
    if silence.ends_at <= now:
        return "expired"
    return "pending" if silence.starts_at > now else "active"


def matchers_from_lines(lines: Sequence[str]) -> list[Matcher]:
    """Matchers typed one per line (``severity="critical"``, ``service=~"shop.*"``)."""
    matchers = []
    for number, line in enumerate(lines, start=1):
        try:
            matchers.append(parse_matcher(line))
        except MatcherError as exc:
            raise InputError("matchers", f"line {number}: {exc}") from None
    return matchers


def matchers_from_json(raw: object) -> list[Matcher]:
    """Matchers posted as ``[{"name", "op", "value"}, ...]``."""
    try:
        return parse_json_matchers(raw)
    except MatcherError as exc:
        raise InputError("matchers", str(exc)) from None


def check_silence(
    *,
    matchers: list[Matcher],
    starts_at: datetime,
    ends_at: datetime,
    comment: str,
    now: datetime,
) -> SilenceFields:
    """A silence that can be stored: it ends after it starts and in the future."""
    if not matchers:
        raise InputError("matchers", 'give at least one matcher, e.g. severity="critical"')
    if len(matchers) > MAX_MATCHERS:
        raise InputError("matchers", f"at most {MAX_MATCHERS} matchers")
    if ends_at <= starts_at:
        raise InputError("ends_at", "must be after the start")
    if ends_at <= now:
        raise InputError("ends_at", "must be in the future")
    comment = comment.strip()
    if not comment:
        raise InputError("comment", "say why, e.g. the ticket or the planned work")
    if len(comment) > MAX_COMMENT:
        raise InputError("comment", f"at most {MAX_COMMENT} characters")
    return SilenceFields(matchers, starts_at, ends_at, comment)


def check_timezone(name: str) -> str:
    name = name.strip()
    if not name or name not in available_timezones():
        raise InputError(
            "timezone", f"unknown time zone {name!r}; use an IANA name like Europe/Berlin"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("timezone", f"unknown time zone {name!r}") from None
    return name


def check_window(
    *,
    name: str,
    service_id: int | None,
    kind: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    weekday: int | None = None,
    start_time: time | None = None,
    duration_minutes: int | None = None,
    timezone: str | None = None,
    comment: str = "",
) -> WindowFields:
    """A maintenance window that can be stored (the other kind's fields are dropped)."""
    name = name.strip()
    if not name:
        raise InputError("name", "must not be empty")
    if len(name) > MAX_NAME:
        raise InputError("name", f"at most {MAX_NAME} characters")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InputError("comment", f"at most {MAX_COMMENT} characters")
    if kind == "once":
        if starts_at is None:
            raise InputError("starts_at", "required for a one-off window")
        if ends_at is None:
            raise InputError("ends_at", "required for a one-off window")
        if ends_at <= starts_at:
            raise InputError("ends_at", "must be after the start")
        return WindowFields(
            name, service_id, "once", starts_at, ends_at, None, None, None, None, comment
        )
    if kind == "weekly":
        if weekday is None or not 0 <= weekday <= 6:
            raise InputError("weekday", "choose a day of the week")
        if start_time is None:
            raise InputError("start_time", "required for a weekly window, as HH:MM")
        if duration_minutes is None or not 0 < duration_minutes <= MAX_DURATION_MINUTES:
            raise InputError(
                "duration_minutes", f"must be between 1 and {MAX_DURATION_MINUTES} minutes"
            )
        return WindowFields(
            name,
            service_id,
            "weekly",
            None,
            None,
            weekday,
            start_time,
            duration_minutes,
            check_timezone(timezone or ""),
            comment,
        )
    raise InputError("kind", "must be once or weekly")


# ------------------------------------------------------------------ rows


async def list_silences(session: AsyncSession, *, now: datetime) -> list[AlertSilence]:
    """Active and pending silences (soonest end first), then the latest expired ones."""
    current = await session.scalars(
        select(AlertSilence).where(AlertSilence.ends_at > now).order_by(AlertSilence.ends_at)
    )
    expired = await session.scalars(
        select(AlertSilence)
        .where(AlertSilence.ends_at <= now)
        .order_by(AlertSilence.ends_at.desc())
        .limit(EXPIRED_SHOWN)
    )
    return [*current, *expired]


async def get_silence(session: AsyncSession, silence_id: int) -> AlertSilence:
    silence = await session.get(AlertSilence, silence_id)
    if silence is None:
        raise NotFoundError(f"no silence with id {silence_id}")
    return silence


async def create_silence(
    session: AsyncSession, fields: SilenceFields, *, author: str, now: datetime
) -> AlertSilence:
    silence = AlertSilence(
        matchers=[{"name": m.name, "op": m.op, "value": m.value} for m in fields.matchers],
        starts_at=fields.starts_at,
        ends_at=fields.ends_at,
        comment=fields.comment,
        author=author,
        created_at=now,
    )
    session.add(silence)
    await session.flush()
    return silence


async def expire_silence(session: AsyncSession, silence_id: int, *, now: datetime) -> AlertSilence:
    """End the silence now; one that has not started yet ends before it starts."""
    silence = await get_silence(session, silence_id)
    if silence_status(silence, now) == "expired":
        raise InputError("ends_at", "the silence has already expired")
    if silence.starts_at > now:
        silence.starts_at = now - timedelta(seconds=1)
    silence.ends_at = now
    await session.flush()
    return silence


async def list_windows(session: AsyncSession) -> list[MaintenanceWindow]:
    rows = await session.scalars(
        select(MaintenanceWindow).order_by(MaintenanceWindow.name, MaintenanceWindow.id)
    )
    return list(rows)


async def get_window(session: AsyncSession, window_id: int) -> MaintenanceWindow:
    window = await session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFoundError(f"no maintenance window with id {window_id}")
    return window


async def create_window(
    session: AsyncSession, fields: WindowFields, *, now: datetime
) -> MaintenanceWindow:
    if fields.service_id is not None and await session.get(Service, fields.service_id) is None:
        raise InputError("service_id", f"no service with id {fields.service_id}")
    window = MaintenanceWindow(
        name=fields.name,
        service_id=fields.service_id,
        kind=fields.kind,
        starts_at=fields.starts_at,
        ends_at=fields.ends_at,
        weekday=fields.weekday,
        start_time=fields.start_time,
        duration_minutes=fields.duration_minutes,
        timezone=fields.timezone,
        comment=fields.comment,
        created_at=now,
    )
    session.add(window)
    try:
        await session.flush()
    except IntegrityError:  # the service was deleted meanwhile
        raise InputError("service_id", f"no service with id {fields.service_id}") from None
    return window


async def delete_window(session: AsyncSession, window_id: int) -> None:
    await session.delete(await get_window(session, window_id))
    await session.flush()
