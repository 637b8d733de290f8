"""The service registry: create, change, pause, re-token and delete registered services.

Usage::

    service = await create_service(
        sessions, ServiceFields(name="Shop API", base_url="https://shop.internal"), now=utcnow()
    )
    await update_service(sessions, service_id=service.id, changes={"enabled": False}, now=...)

Every field is checked before anything is written; bad input raises :class:`ServiceError`
(its message says what to fix) and changes nothing, a taken name :class:`DuplicateServiceError`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.rows import delete_by_id, name_taken
from app.services import transitions
from app.services.models import Service

MAX_NAME_LENGTH: Final = 100
MAX_URL_LENGTH: Final = 500
MAX_PATH_LENGTH: Final = 200
MIN_INTERVAL_SECONDS: Final = 10
MAX_INTERVAL_SECONDS: Final = 86_400
DEFAULT_INTERVAL_SECONDS: Final = 60
DEFAULT_TIMEOUT_SECONDS: Final = 5.0
DEFAULT_HEALTH_PATH: Final = "/healthz"
DEFAULT_EXPECTED_STATUS: Final = 200
MAX_LABELS: Final = 20
MAX_LABEL_NAME_LENGTH: Final = 64
MAX_LABEL_VALUE_LENGTH: Final = 200
RESERVED_LABELS: Final = frozenset({"vigil_service"})
"""Labels Vigil sets itself on every discovered target."""
TOKEN_BYTES: Final = 24
"""Random bytes of a ping token: 32 URL-safe characters."""

_LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_HOST: Final = re.compile(
    r"^(?:\[[0-9a-f:.]+\]"  # [IPv6]
    r"|(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*)$"
)
_SPACE_OR_CONTROL: Final = re.compile(r"[\s\x00-\x1f\x7f]")


class ServiceError(ValueError):
    """A service cannot be saved as asked; the message says why, ``field`` names the field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DuplicateServiceError(ServiceError):
    """Another service already has this name."""


class ServiceNotFoundError(LookupError):
    """No service has this id."""


@dataclass(frozen=True, slots=True)
class ServiceFields:
    """What an admin sets on a service; :func:`validate` checks and normalises all of it."""

    name: str
    base_url: str
    health_path: str = DEFAULT_HEALTH_PATH
    expected_status: int = DEFAULT_EXPECTED_STATUS
    metrics_path: str | None = None
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    labels: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True

    @classmethod
    def of(cls, service: Service) -> ServiceFields:
        return cls(
            name=service.name,
            base_url=service.base_url,
            health_path=service.health_path,
            expected_status=service.expected_status,
            metrics_path=service.metrics_path,
            interval_seconds=service.interval_seconds,
            timeout_seconds=service.timeout_seconds,
            labels=dict(service.labels),
            enabled=service.enabled,
        )


EDITABLE: Final = frozenset(f.name for f in dataclasses.fields(ServiceFields))


def generate_token() -> str:
    """A new ping token: 32 URL-safe random characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def check_name(name: str) -> str:
    """The trimmed name; refuses an empty or too long one."""
    name = name.strip()
    if not name:
        raise ServiceError("name must not be empty", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise ServiceError(f"name must have at most {MAX_NAME_LENGTH} characters", field="name")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ServiceError("name must not contain control characters", field="name")
    return name


def check_base_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing slash; refuses credentials,
    a query or a fragment."""
    text = url.strip()
    shown = text or "(empty)"
    if len(text) > MAX_URL_LENGTH:
        raise ServiceError(
            f"base URL must have at most {MAX_URL_LENGTH} characters", field="base_url"
        )
    if _SPACE_OR_CONTROL.search(text):
        raise ServiceError(
            f"base URL {shown!r} must not contain spaces or control characters", field="base_url"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ServiceError(
            f"base URL {shown!r} has an invalid host or port", field="base_url"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise ServiceError(
            f"base URL {shown!r} must start with http:// or https://", field="base_url"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ServiceError(
            f"base URL {shown!r} must not contain a user name or password", field="base_url"
        )
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ServiceError(
            f"base URL {shown!r} must not have a query or fragment", field="base_url"
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise ServiceError(
            f"base URL {shown!r} must name a host, e.g. https://api.internal", field="base_url"
        )
    if ":" in host:  # IPv6: urlsplit drops the brackets
        host = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ServiceError(
                f"base URL {shown!r} has an invalid host name", field="base_url"
            ) from None
    if not _HOST.match(host):
        raise ServiceError(f"base URL {shown!r} has an invalid host name", field="base_url")
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{scheme}://{host}{port}{parts.path.rstrip('/')}"


def check_path(path: str, *, what: str, field: str, allow_query: bool) -> str:
    """A path that starts with ``/``, without spaces, control characters or a fragment."""
    text = path.strip()
    if not text.startswith("/"):
        raise ServiceError(
            f"{what} must start with /, e.g. /healthz (got {text or '(empty)'!r})", field=field
        )
    if len(text) > MAX_PATH_LENGTH:
        raise ServiceError(f"{what} must have at most {MAX_PATH_LENGTH} characters", field=field)
    if _SPACE_OR_CONTROL.search(text) or "#" in text:
        raise ServiceError(
            f"{what} {text!r} must not contain spaces, control characters or #", field=field
        )
    if not allow_query and "?" in text:
        raise ServiceError(f"{what} {text!r} must not have a query", field=field)
    return text


def check_expected_status(status: int) -> int:
    if not 100 <= status <= 599:
        raise ServiceError(
            f"expected status must be an HTTP status from 100 to 599, got {status}",
            field="expected_status",
        )
    return status


def check_timing(interval_seconds: int, timeout_seconds: float) -> tuple[int, float]:
    """The check interval (10 s to a day) and a timeout above 0 and below the interval."""
    if not MIN_INTERVAL_SECONDS <= interval_seconds <= MAX_INTERVAL_SECONDS:
        raise ServiceError(
            f"interval must be from {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS} seconds, "
            f"got {interval_seconds}",
            field="interval_seconds",
        )
    if not math.isfinite(timeout_seconds) or timeout_seconds <= 0:
        raise ServiceError(
            f"timeout must be above 0 seconds, got {timeout_seconds}", field="timeout_seconds"
        )
    if timeout_seconds >= interval_seconds:
        raise ServiceError(
            f"timeout ({timeout_seconds:g} s) must be shorter than the interval "
            f"({interval_seconds} s)",
            field="timeout_seconds",
        )
    return interval_seconds, float(timeout_seconds)


def check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Prometheus label names (not ``__``-prefixed, not reserved) with bounded values."""
    if len(labels) > MAX_LABELS:
        raise ServiceError(f"a service can have at most {MAX_LABELS} labels", field="labels")
    result: dict[str, str] = {}
    for name, value in labels.items():
        if not _LABEL_NAME.match(name) or len(name) > MAX_LABEL_NAME_LENGTH:
            raise ServiceError(
                f"label name {name!r} must match [a-zA-Z_][a-zA-Z0-9_]* "
                f"(at most {MAX_LABEL_NAME_LENGTH} characters)",
                field="labels",
            )
        if name.startswith("__"):
            raise ServiceError(
                f"label name {name!r} must not start with __ (reserved)", field="labels"
            )
        if name in RESERVED_LABELS:
            raise ServiceError(f"label name {name!r} is set by Vigil itself", field="labels")
        if len(value) > MAX_LABEL_VALUE_LENGTH:
            raise ServiceError(
                f"label {name!r} has a value longer than {MAX_LABEL_VALUE_LENGTH} characters",
                field="labels",
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ServiceError(
                f"label {name!r} must not contain control characters", field="labels"
            )
        result[name] = value
    return result


def validate(fields: ServiceFields) -> ServiceFields:
    """Every field checked and normalised, or :class:`ServiceError` for the first bad one."""
    metrics_path = (fields.metrics_path or "").strip()
    interval, timeout = check_timing(fields.interval_seconds, fields.timeout_seconds)
    return ServiceFields(
        name=check_name(fields.name),
        base_url=check_base_url(fields.base_url),
        health_path=check_path(
            fields.health_path, what="health path", field="health_path", allow_query=True
        ),
        expected_status=check_expected_status(fields.expected_status),
        metrics_path=(
            check_path(metrics_path, what="metrics path", field="metrics_path", allow_query=False)
            if metrics_path
            else None
        ),
        interval_seconds=interval,
        timeout_seconds=timeout,
        labels=check_labels(fields.labels),
        enabled=bool(fields.enabled),
    )


async def list_services(sessions: async_sessionmaker[AsyncSession]) -> list[Service]:
    """Every service, by name."""
    async with sessions() as session:
        return list(await session.scalars(select(Service).order_by(Service.name, Service.id)))


async def get_service(
    sessions: async_sessionmaker[AsyncSession], *, service_id: int
) -> Service | None:
    """The service with ``service_id``, or None."""
    async with sessions() as session:
        return await session.get(Service, service_id)


def _duplicate(name: str) -> DuplicateServiceError:
    return DuplicateServiceError(
        f"a service named {name!r} already exists; choose another name", field="name"
    )


def _set_enabled(session: AsyncSession, service: Service, enabled: bool, now: datetime) -> None:
    """Pause or resume through the state machine, which records the state change."""
    if enabled:
        transitions.resume(session, service, now)
    else:
        transitions.pause(session, service, now)


async def create_service(
    sessions: async_sessionmaker[AsyncSession], fields: ServiceFields, *, now: datetime
) -> Service:
    """Register a service with a fresh ping token; its first check is due ``now``."""
    valid = validate(fields)
    service = Service(
        name=valid.name,
        base_url=valid.base_url,
        health_path=valid.health_path,
        expected_status=valid.expected_status,
        metrics_path=valid.metrics_path,
        interval_seconds=valid.interval_seconds,
        timeout_seconds=valid.timeout_seconds,
        labels=dict(valid.labels),
        enabled=True,
        ping_token=generate_token(),
        state="pending",
        state_changed_at=now,
        next_check_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        async with sessions.begin() as session:
            if await name_taken(session, (Service.id, Service.name), service.name):
                raise _duplicate(service.name)
            session.add(service)
            await session.flush()
            if not valid.enabled:
                _set_enabled(session, service, False, now)
    except IntegrityError:
        raise _duplicate(service.name) from None
    return service


async def update_service(
    sessions: async_sessionmaker[AsyncSession],
    *,
    service_id: int,
    changes: Mapping[str, Any],
    now: datetime,
) -> Service:
    """Change the fields in ``changes`` (names of :class:`ServiceFields`); the result is
    validated as a whole (e.g. timeout < interval) before anything is written."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ServiceError(f"unknown field(s): {', '.join(sorted(unknown))}")
    try:
        async with sessions.begin() as session:
            service = await session.get(Service, service_id)
            if service is None:
                raise ServiceNotFoundError(f"no service with id {service_id}")
            valid = validate(dataclasses.replace(ServiceFields.of(service), **changes))
            if valid.name != service.name and await name_taken(
                session, (Service.id, Service.name), valid.name, except_id=service_id
            ):
                raise _duplicate(valid.name)
            _apply(service, valid, now=now)
            if valid.enabled != service.enabled:
                _set_enabled(session, service, valid.enabled, now)
    except IntegrityError:
        raise _duplicate(str(changes.get("name", ""))) from None
    return service


def _apply(service: Service, valid: ServiceFields, *, now: datetime) -> None:
    """Copy the settings over; a shorter interval brings the next check forward."""
    service.name = valid.name
    service.base_url = valid.base_url
    service.health_path = valid.health_path
    service.expected_status = valid.expected_status
    service.metrics_path = valid.metrics_path
    service.timeout_seconds = valid.timeout_seconds
    service.labels = dict(valid.labels)
    if valid.interval_seconds != service.interval_seconds:
        service.interval_seconds = valid.interval_seconds
        soonest = now + timedelta(seconds=valid.interval_seconds)
        service.next_check_at = min(service.next_check_at, soonest)
    service.updated_at = now


async def regenerate_token(
    sessions: async_sessionmaker[AsyncSession], *, service_id: int, now: datetime
) -> Service:
    """Give the service a new ping token; pings with the old one get 404 from now on."""
    async with sessions.begin() as session:
        service = await session.get(Service, service_id)
        if service is None:
            raise ServiceNotFoundError(f"no service with id {service_id}")
        service.ping_token = generate_token()
        service.updated_at = now
    return service


async def delete_service(sessions: async_sessionmaker[AsyncSession], *, service_id: int) -> bool:
    """Delete the service with its checks, state changes and tasks; False when there was none."""
    return await delete_by_id(sessions, Service, service_id)
