"""``GET /sd/prometheus``: Prometheus HTTP service discovery of the registered services.

Prometheus polls it with ``http_sd_configs`` and an API token of Vigil's (read scope is
enough)::

    scrape_configs:
      - job_name: vigil-services
        http_sd_configs:
          - url: https://vigil.example.com/sd/prometheus
            authorization: {credentials: vgl_...}

Every enabled service with a metrics path is one target group: ``targets`` is its
``host:port``; ``labels`` carry ``__scheme__``, ``__metrics_path__``, ``vigil_service`` (its
name) and the service's own labels whose names are valid Prometheus label names.

The route is outside ``/api/``, where the auth middleware would ask for a login session, so
it is marked public and checks the bearer token itself with the same functions
(:func:`require_api_token`); a missing or bad token gets 401. A bare token without the
``Bearer`` type is accepted too: that is what Prometheus 2.42 sends when the config leaves
``type`` out.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlsplit

from litestar import get
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.principal import PUBLIC, Principal
from app.auth.tokens import TOKEN_PREFIX, authenticate_token, scope_allows
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.services.checks import join_url
from app.services.models import Service

SD_PATH: Final = "/sd/prometheus"
LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DEFAULT_PORTS: Final = {"http": 80, "https": 443}

TargetGroup = dict[str, Any]


def target_group(service: Service) -> TargetGroup | None:
    """The HTTP SD entry of a service, or None when it has no metrics path."""
    if not service.metrics_path:
        return None
    parts = urlsplit(join_url(service.base_url, service.metrics_path))
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    labels = {
        name: str(value)
        for name, value in sorted(service.labels.items())
        if is_valid_label_name(name) and name != "vigil_service"
    }
    labels |= {
        "__scheme__": parts.scheme,
        "__metrics_path__": parts.path,
        "vigil_service": service.name,
    }
    return {"targets": [address], "labels": labels}


def is_valid_label_name(name: str) -> bool:
    """Prometheus label name rules; names starting ``__`` are reserved for Prometheus."""
    return bool(LABEL_NAME.match(name)) and not name.startswith("__")


async def require_api_token(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Guard: ``Authorization: Bearer <API token>`` with a scope allowing the method."""
    secret = _token_from(connection.headers.get("authorization", ""))
    if not secret:
        raise NotAuthorizedException(
            detail="missing API token: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="vigil"'},
        )
    sessions: async_sessionmaker[AsyncSession] = connection.app.state.sessions
    owner = await authenticate_token(sessions, secret=secret, now=utcnow())
    if owner is None:
        raise NotAuthorizedException(
            detail="invalid, expired or revoked API token",
            headers={"WWW-Authenticate": 'Bearer realm="vigil"'},
        )
    method = str(connection.scope.get("method", "GET"))
    if not scope_allows(owner.scope, method=method):
        raise PermissionDeniedException(
            detail=f"token scope '{owner.scope}' does not allow {method}"
        )
    connection.scope["user"] = Principal(
        user_id=owner.user_id,
        email=owner.email,
        role=owner.role,
        via="token",
        token_scope=owner.scope,
    )


def _token_from(authorization: str) -> str:
    """The token of ``Bearer <token>``, or a bare ``vgl_...`` token: Prometheus 2.42's
    ``http_sd_configs`` sends ``authorization.credentials`` without the type unless
    ``type: Bearer`` is configured."""
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return secret.strip()
    return scheme if scheme.startswith(TOKEN_PREFIX) and not secret else ""


@get(
    SD_PATH,
    guards=[require_api_token],
    opt=PUBLIC,  # not behind the login session: its own API-token guard above
    include_in_schema=False,
)
async def prometheus_sd(state: State) -> list[TargetGroup]:
    """Target groups of every enabled service with a metrics path, by name."""
    async with app_sessions(state)() as session:
        services = await session.scalars(
            select(Service)
            .where(Service.enabled.is_(True), Service.metrics_path.is_not(None))
            .order_by(Service.name, Service.id)
        )
        groups = [target_group(service) for service in services]
    return [group for group in groups if group is not None]


sd_routes = [prometheus_sd]
