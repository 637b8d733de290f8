"""Built from the app's route table: every route not explicitly public refuses anonymous use.

A new route is private by default; making one public means adding ``opt={"public": True}``
to the handler *and* its path to ``PUBLIC_PATHS`` below, so the choice is reviewed.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.routes import HTTPRoute

from app.auth.principal import PUBLIC_OPT

# Decided: the OpenAPI schema (/schema...) is NOT public; it needs a login like any page.
PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",  # guarded by its own bearer token / loopback check
    "/sd/prometheus",  # outside /api/, guarded by its own API-token check (401 without one)
    "/static/{file_path:path}",
    "/login",
    # Task pings: served in front of the router (app.tasks.routes.PingFastPath), so not in
    # the route table; the ping token in the URL is the capability (unknown token: 404).
    "/ping/{token}/{task}",
}
DUMMY = {"int": "1", "str": "x", "path": "x", "uuid": str(uuid.uuid4()), "float": "1.5"}
PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def _fill(path: str) -> str:
    return PARAM.sub(lambda m: DUMMY.get(m.group(2) or "str", "x"), path)


def _private_endpoints(app: Any) -> list[tuple[str, str]]:
    endpoints = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path in PUBLIC_PATHS:
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                endpoints.append((method, route.path))
    return endpoints


def test_only_allow_listed_routes_are_marked_public(app: Any) -> None:
    marked = {
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if handler.opt.get(PUBLIC_OPT)
    }
    assert marked <= PUBLIC_PATHS


async def test_every_private_route_refuses_anonymous_requests(client: Any, app: Any) -> None:
    endpoints = _private_endpoints(app)
    assert ("GET", "/") in endpoints
    assert ("POST", "/api/v1/tokens") in endpoints
    failures = []
    for method, path in endpoints:
        url = _fill(path)
        response = await client.request(method, url, follow_redirects=False)
        if path.startswith("/api/"):
            ok = response.status_code == 401 and "detail" in response.json()
        else:
            ok = response.status_code == 303 and response.headers["location"].startswith("/login")
        if not ok:
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


async def test_public_routes_answer_anonymous_requests(client: Any) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/login")).status_code == 200
    assert (await client.get("/static/css/vigil.css")).status_code == 200
    assert (await client.get("/ping/not-a-token/backup")).status_code == 404  # no login redirect
