"""``GET /metrics`` for Prometheus: loopback clients, or a matching bearer token.

Access rule: a client on a loopback address (127.0.0.0/8, ::1) is always allowed — also
when a token is configured, so a sidecar or ``curl`` on the host keeps working. Any other
client must send ``Authorization: Bearer <token>`` equal to the configured token (compared
in constant time); with no token configured, only loopback clients are served. Refusals are
401 with a plain-text reason and ``WWW-Authenticate: Bearer``.

Behind a reverse proxy on the same host every request looks like loopback unless the server
rewrites the client address from ``X-Forwarded-For`` (``server.proxy_headers``); configure a
token there.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response
from prometheus_client import CollectorRegistry, generate_latest

__all__ = ["is_loopback", "metrics_route"]

# The classic text format every Prometheus version reads (Litestar appends the charset).
_MEDIA_TYPE = "text/plain; version=0.0.4"


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8 and ::1 (also IPv4-mapped); False for names and garbage."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _bearer_matches(authorization: str | None, token: str) -> bool:
    if not token or not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def metrics_route(
    registry: CollectorRegistry,
    *,
    bearer_token: str = "",
    enabled: bool = True,
    path: str = "/metrics",
) -> HTTPRouteHandler:
    """A Litestar handler serving ``registry`` in the Prometheus text format.

    With ``enabled=False`` the route answers 404 ("metrics are disabled").
    """

    @get(
        path,
        include_in_schema=False,
        sync_to_thread=False,
        name="vigil_metrics",
        opt={"public": True},  # its own auth: loopback or bearer token, checked below
    )
    def serve_metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        if not enabled:
            return Response(
                b"metrics are disabled (telemetry.metrics.enabled)\n",
                status_code=404,
                media_type="text/plain",
            )
        client = request.client.host if request.client else None
        authorization = request.headers.get("authorization")
        if not is_loopback(client) and not _bearer_matches(authorization, bearer_token):
            reason = (
                "send Authorization: Bearer <telemetry.metrics.bearer_token>"
                if bearer_token
                else "/metrics is served to loopback clients only "
                "(set telemetry.metrics.bearer_token to allow others)"
            )
            if authorization and bearer_token:
                reason = "invalid bearer token"
            return Response(
                f"unauthorized: {reason}\n".encode(),
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="vigil-metrics"'},
            )
        return Response(generate_latest(registry), status_code=200, media_type=_MEDIA_TYPE)

    return serve_metrics
