"""``/api/v1/services``: list, read, register, change, re-token and delete services.

Reading needs any token; changing needs a ``write`` token (checked by the auth middleware)
of an admin. Bad input gets 400 with a reason, a duplicate name 409, a body that is not
JSON 415; nothing changes then. The ping token is shown to admins only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody

from app.auth.principal import is_admin, requires_admin
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import IdPath
from app.services import registry
from app.services.models import Service

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=registry.MAX_NAME_LENGTH)]
Url = Annotated[str, msgspec.Meta(max_length=registry.MAX_URL_LENGTH)]
UrlPath = Annotated[str, msgspec.Meta(max_length=registry.MAX_PATH_LENGTH)]
Status = Annotated[int, msgspec.Meta(ge=100, le=599)]
Interval = Annotated[
    int, msgspec.Meta(ge=registry.MIN_INTERVAL_SECONDS, le=registry.MAX_INTERVAL_SECONDS)
]
Timeout = Annotated[float, msgspec.Meta(gt=0)]
Labels = Annotated[dict[str, str], msgspec.Meta(max_length=registry.MAX_LABELS)]


class ServiceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A service to register; paths are joined to ``base_url``."""

    name: Name
    base_url: Url
    health_path: UrlPath = registry.DEFAULT_HEALTH_PATH
    expected_status: Status = registry.DEFAULT_EXPECTED_STATUS
    metrics_path: UrlPath | None = None
    interval_seconds: Interval = registry.DEFAULT_INTERVAL_SECONDS
    timeout_seconds: Timeout = registry.DEFAULT_TIMEOUT_SECONDS
    labels: Labels = msgspec.field(default_factory=dict)
    enabled: bool = True


class ServicePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields to change; a field left out keeps its value (``metrics_path: null`` clears it)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    base_url: Url | msgspec.UnsetType = msgspec.UNSET
    health_path: UrlPath | msgspec.UnsetType = msgspec.UNSET
    expected_status: Status | msgspec.UnsetType = msgspec.UNSET
    metrics_path: UrlPath | msgspec.UnsetType | None = msgspec.UNSET
    interval_seconds: Interval | msgspec.UnsetType = msgspec.UNSET
    timeout_seconds: Timeout | msgspec.UnsetType = msgspec.UNSET
    labels: Labels | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class ServiceOut(msgspec.Struct, kw_only=True):
    """A service with its current state; ``ping_token`` and ``ping_url`` only for admins."""

    id: int
    name: str
    base_url: str
    health_path: str
    expected_status: int
    metrics_path: str | None
    interval_seconds: int
    timeout_seconds: float
    labels: dict[str, str]
    enabled: bool
    state: str
    state_changed_at: datetime
    last_check_at: datetime | None
    next_check_at: datetime
    created_at: datetime
    updated_at: datetime
    ping_token: str | msgspec.UnsetType = msgspec.UNSET
    ping_url: str | msgspec.UnsetType = msgspec.UNSET
    """``{public_url}/ping/{token}``: append ``/{task}`` (and ``/start``, ``/fail``, ...)."""


def ping_url(*, public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/ping/{token}"


def service_out(service: Service, *, public_url: str, show_token: bool) -> ServiceOut:
    secret = msgspec.UNSET if not show_token else service.ping_token
    return ServiceOut(
        id=service.id,
        name=service.name,
        base_url=service.base_url,
        health_path=service.health_path,
        expected_status=service.expected_status,
        metrics_path=service.metrics_path,
        interval_seconds=service.interval_seconds,
        timeout_seconds=service.timeout_seconds,
        labels=dict(service.labels),
        enabled=service.enabled,
        state=service.state,
        state_changed_at=service.state_changed_at,
        last_check_at=service.last_check_at,
        next_check_at=service.next_check_at,
        created_at=service.created_at,
        updated_at=service.updated_at,
        ping_token=secret,
        ping_url=(
            msgspec.UNSET
            if not show_token
            else ping_url(public_url=public_url, token=service.ping_token)
        ),
    )


def _out(request: Request[Any, Any, Any], state: State, service: Service) -> ServiceOut:
    return service_out(
        service, public_url=state.settings.server.public_url, show_token=is_admin(request)
    )


def requires_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse a body that is not ``application/json`` with 415 before it is read."""
    media_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ClientException(
            status_code=415,
            detail=f"send the body as Content-Type: application/json (got {media_type or 'none'})",
        )


def _refusal(exc: registry.ServiceError) -> HTTPException:
    if isinstance(exc, registry.DuplicateServiceError):
        return HTTPException(status_code=409, detail=str(exc))
    return ValidationException(detail=str(exc))


@get("/api/v1/services", tags=["services"])
async def list_services(request: Request[Any, Any, Any], state: State) -> list[ServiceOut]:
    """Every registered service, by name."""
    rows = await registry.list_services(app_sessions(state))
    return [_out(request, state, service) for service in rows]


@get("/api/v1/services/{service_id:int}", tags=["services"])
async def get_service(
    request: Request[Any, Any, Any], state: State, service_id: IdPath
) -> ServiceOut:
    """One service; 404 when there is none with this id."""
    service = await registry.get_service(app_sessions(state), service_id=service_id)
    if service is None:
        raise NotFoundException(detail=f"no service with id {service_id}")
    return _out(request, state, service)


@post(
    "/api/v1/services",
    tags=["services"],
    guards=[requires_admin, requires_json],
    status_code=201,
)
async def create_service(
    request: Request[Any, Any, Any], state: State, data: JSONBody[ServiceIn]
) -> ServiceOut:
    """Register a service with a fresh ping token; its first check is due at once."""
    fields = registry.ServiceFields(**msgspec.structs.asdict(data))
    try:
        service = await registry.create_service(app_sessions(state), fields, now=utcnow())
    except registry.ServiceError as exc:
        raise _refusal(exc) from None
    return _out(request, state, service)


@patch(
    "/api/v1/services/{service_id:int}",
    tags=["services"],
    guards=[requires_admin, requires_json],
)
async def update_service(
    request: Request[Any, Any, Any],
    state: State,
    service_id: IdPath,
    data: JSONBody[ServicePatch],
) -> ServiceOut:
    """Change the fields given; ``enabled: false`` pauses the service, ``true`` resumes it."""
    changes = {
        name: value
        for name, value in msgspec.structs.asdict(data).items()
        if value is not msgspec.UNSET
    }
    try:
        service = await registry.update_service(
            app_sessions(state), service_id=service_id, changes=changes, now=utcnow()
        )
    except registry.ServiceNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    except registry.ServiceError as exc:
        raise _refusal(exc) from None
    return _out(request, state, service)


@post(
    "/api/v1/services/{service_id:int}/regenerate-token",
    tags=["services"],
    guards=[requires_admin],
    status_code=200,
)
async def regenerate_service_token(
    request: Request[Any, Any, Any], state: State, service_id: IdPath
) -> ServiceOut:
    """Give the service a new ping token; pings with the old one get 404 from now on."""
    try:
        service = await registry.regenerate_token(
            app_sessions(state), service_id=service_id, now=utcnow()
        )
    except registry.ServiceNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    return _out(request, state, service)


@delete("/api/v1/services/{service_id:int}", tags=["services"], guards=[requires_admin])
async def delete_service(state: State, service_id: IdPath) -> None:
    """Delete the service with its check history, state changes and tasks."""
    if not await registry.delete_service(app_sessions(state), service_id=service_id):
        raise NotFoundException(detail=f"no service with id {service_id}")
    state.scrapes.forget(service_id)


service_api_routes = [
    list_services,
    get_service,
    create_service,
    update_service,
    regenerate_service_token,
    delete_service,
]
"""Route handlers of the services API."""
