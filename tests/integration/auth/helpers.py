"""Helpers for tests that log in through the real login form."""

from __future__ import annotations

import re
from typing import Any

from httpx import Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.csrf import CSRF_HEADER
from app.auth.login_sessions import SESSION_COOKIE
from app.auth.tokens import create_token
from app.auth.users import create_user

ADMIN_EMAIL = "admin@example.com"
VIEWER_EMAIL = "viewer@example.com"
PASSWORD = "correct horse battery"

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def make_user(
    sessions: async_sessionmaker[AsyncSession], *, email: str, role: str = "viewer"
) -> int:
    user = await create_user(sessions, email=email, password=PASSWORD, role=role)
    return user.id


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def token_headers(
    sessions: async_sessionmaker[AsyncSession],
    *,
    scope: str,
    role: str = "admin",
    name: str | None = None,
) -> dict[str, str]:
    """Bearer headers of a new API token of the admin or viewer user (created here)."""
    email = ADMIN_EMAIL if role == "admin" else VIEWER_EMAIL
    user_id = await make_user(sessions, email=email, role=role)
    issued = await create_token(
        sessions, user_id=user_id, name=name or f"{role}-{scope}", scope=scope
    )
    return bearer(issued.secret)


def csrf_from(page: Response) -> str:
    """The token a page carries in its csrf-token meta tag."""
    match = _META.search(page.text)
    assert match, f"no csrf-token meta tag in {page.request.url}"
    return match.group(1)


async def csrf_token(client: Any) -> str:
    return csrf_from(await client.get("/login"))


async def post_login(
    client: Any, *, email: str, password: str = PASSWORD, next_path: str = ""
) -> Response:
    token = await csrf_token(client)
    response: Response = await client.post(
        "/login",
        data={"email": email, "password": password, "next": next_path, "_csrf_token": token},
        follow_redirects=False,
    )
    return response


async def login(client: Any, *, email: str, password: str = PASSWORD) -> str:
    """Log in and return the session id the client now holds."""
    response = await post_login(client, email=email, password=password)
    assert response.status_code == 303, response.text
    session_id = client.cookies.get(SESSION_COOKIE)
    assert session_id
    return str(session_id)


async def page_token(client: Any, path: str = "/") -> str:
    """The CSRF token of a signed-in page."""
    return csrf_from(await client.get(path))


def csrf_headers(token: str) -> dict[str, str]:
    return {CSRF_HEADER: token}
