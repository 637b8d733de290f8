"""The dashboard shell: pages render for signed-in users, admin bits only for admins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.users import create_user
from tests.integration.auth.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    VIEWER_EMAIL,
    login,
    make_user,
    page_token,
)

PAGES = ["/", "/vitals", "/services", "/tasks", "/alerts", "/http"]


@pytest.mark.parametrize("path", PAGES)
async def test_every_nav_page_renders_for_a_viewer(
    client: Any, sessions: async_sessionmaker[AsyncSession], path: str
) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    await login(client, email=VIEWER_EMAIL)

    response = await client.get(path, follow_redirects=False)

    assert response.status_code == 200
    assert f'href="{path}" aria-current="page"' in response.text
    assert 'href="/admin"' not in response.text
    assert "content-security-policy" in response.headers


async def test_overview_shows_vigils_own_health(
    client: Any, sessions: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    await login(client, email=VIEWER_EMAIL)

    text = (await client.get("/")).text

    assert "Version" in text
    assert "Uptime" in text
    assert ("PostgreSQL" if db_url.startswith("postgresql") else "SQLite") in text
    assert "Disabled on this replica" in text  # the test settings turn the scheduler off
    for empty in ("No alerts firing", "No services registered", "No task runs", "No sites yet"):
        # (no site exists in this test: the demo site is made by `vigil serve`, not the app)
        assert empty in text


async def test_viewer_gets_403_on_admin_pages(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    await login(client, email=VIEWER_EMAIL)
    token = await page_token(client)

    page = await client.get("/admin", follow_redirects=False)
    action = await client.post(
        "/admin/tokens", data={"name": "x", "_csrf_token": token}, follow_redirects=False
    )

    assert page.status_code == 403
    assert action.status_code == 403


async def test_admin_creates_a_token_sees_it_once_and_revokes_it(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)
    token = await page_token(client, "/admin")

    created = await client.post(
        "/admin/tokens", data={"name": "ci job", "scope": "write", "_csrf_token": token}
    )
    secret = re.search(r"(vgl_[A-Za-z0-9_-]{20,})", created.text)
    later = await client.get("/admin")
    token_id = re.search(r'action="/admin/tokens/(\d+)/revoke"', later.text)
    assert secret is not None
    assert token_id is not None
    revoked = await client.post(
        f"/admin/tokens/{token_id.group(1)}/revoke",
        data={"_csrf_token": token},
        follow_redirects=False,
    )

    assert "ci job" in later.text
    assert secret.group(1) not in later.text
    assert revoked.status_code == 303
    assert "Revoked" in (await client.get("/admin")).text
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert me.status_code == 401


async def test_admin_token_form_without_a_name_explains_the_problem(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)
    token = await page_token(client, "/admin")

    response = await client.post("/admin/tokens", data={"name": " ", "_csrf_token": token})

    assert response.status_code == 400
    assert "Give the token a name" in response.text


async def test_templates_escape_user_data(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_user(sessions, email="<b>x</b>@example.com", password=PASSWORD, role="admin")
    await login(client, email="<b>x</b>@example.com")

    text = (await client.get("/admin")).text

    assert "<b>x</b>" not in text
    assert "&lt;b&gt;x&lt;/b&gt;@example.com" in text


@pytest.mark.parametrize("path", [*PAGES, "/admin", "/login"])
async def test_pages_have_no_inline_script_or_style(
    client: Any, sessions: async_sessionmaker[AsyncSession], path: str
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    if path != "/login":
        await login(client, email=ADMIN_EMAIL)

    text = (await client.get(path)).text

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []
    assert " style=" not in text
    assert "<style" not in text
    assert re.search(r"\son[a-z]+=", text) is None
