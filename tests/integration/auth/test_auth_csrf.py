"""Unsafe browser requests need the CSRF token; the bearer API does not."""

from __future__ import annotations

import re
from typing import Any

from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.csrf import CSRF_EXEMPT_PATHS, EXEMPT_OPT
from app.auth.tokens import create_token
from tests.integration.auth.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    csrf_headers,
    login,
    make_user,
    page_token,
)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
PARAM = re.compile(r"{\w+(?::\w+)?}")


async def test_logged_in_form_post_without_csrf_token_is_refused(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)

    response = await client.post(
        "/admin/tokens", data={"name": "ci", "scope": "read"}, follow_redirects=False
    )

    assert response.status_code == 403
    assert "CSRF" in response.text


async def test_logged_in_form_post_with_csrf_token_works(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)
    token = await page_token(client, "/admin")

    response = await client.post(
        "/admin/tokens",
        data={"name": "ci", "scope": "read", "_csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code == 200
    assert "vgl_" in response.text


async def test_htmx_style_request_sends_token_in_header(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)
    token = await page_token(client)

    refused = await client.post("/logout", headers={"HX-Request": "true"}, follow_redirects=False)
    accepted = await client.post(
        "/logout", headers={"HX-Request": "true", **csrf_headers(token)}, follow_redirects=False
    )

    assert refused.status_code == 403
    assert accepted.status_code == 303


async def test_login_post_without_csrf_token_is_refused(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await client.get("/login")

    response = await client.post(
        "/login", data={"email": ADMIN_EMAIL, "password": PASSWORD}, follow_redirects=False
    )

    assert response.status_code == 403


async def test_csrf_token_from_another_app_instance_on_the_same_database_is_accepted(
    app: Any, settings: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Replicas (and restarts) share the CSRF key through the database."""
    from litestar.testing import AsyncTestClient

    from app.main import create_app

    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    async with (
        AsyncTestClient(app=app) as first,
        AsyncTestClient(app=create_app(settings)) as second,
    ):
        await login(first, email=ADMIN_EMAIL)
        token = await page_token(first)
        second.cookies = first.cookies
        response = await second.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303


async def test_api_is_exempt_from_csrf(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    issued = await create_token(sessions, user_id=user_id, name="ci", scope="write")

    response = await client.post(
        "/api/v1/tokens",
        json={"name": "from-script", "scope": "read"},
        headers={"Authorization": f"Bearer {issued.secret}"},
    )

    assert response.status_code == 201


async def test_every_unsafe_page_route_refuses_a_signed_in_request_without_the_token(
    client: Any, app: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Built from the route table, so a form or htmx endpoint added later is covered too;
    only the machine paths in CSRF_EXEMPT_PATHS (bearer API, ingest, pings...) are exempt."""
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)
    exempt = [re.compile(pattern) for pattern in CSRF_EXEMPT_PATHS]
    checked, failures = [], []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or any(p.search(route.path) for p in exempt):
            continue
        for handler in route.route_handlers:
            assert not handler.opt.get(EXEMPT_OPT), f"{route.path} opts out of CSRF"
            for method in sorted(set(handler.http_methods) - SAFE_METHODS):
                url = PARAM.sub("1", route.path)
                response = await client.request(
                    method, url, data={"name": "x"}, follow_redirects=False
                )
                checked.append(f"{method} {route.path}")
                if response.status_code != 403:
                    failures.append(f"{method} {url} -> {response.status_code}")
    assert "POST /alerts/rules/preview" in checked
    assert len(checked) >= 20, checked
    assert failures == []
