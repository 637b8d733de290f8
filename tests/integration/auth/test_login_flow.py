"""Logging in and out through the form: cookies, rotation, errors, rate limit, next."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.login_sessions import SESSION_COOKIE
from app.auth.models import LoginSession, User
from app.auth.routes import LOGIN_FAILED
from tests.integration.auth.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    csrf_token,
    login,
    make_user,
    page_token,
    post_login,
)


def _set_cookie_header(response: Any, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return str(headers[0])


async def test_login_success_sets_httponly_samesite_lax_session_cookie(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")

    response = await post_login(client, email=ADMIN_EMAIL)

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = _set_cookie_header(response, SESSION_COOKIE).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # cookie_secure defaults to false for plain-HTTP set-ups
    page = await client.get("/", follow_redirects=False)
    assert page.status_code == 200
    assert ADMIN_EMAIL in page.text


async def test_login_records_last_login_and_matches_email_case_insensitively(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")

    response = await post_login(client, email="  Admin@Example.COM ")

    assert response.status_code == 303
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.email == ADMIN_EMAIL))
    assert user is not None
    assert user.last_login_at is not None


async def test_login_rotates_a_preset_session_id_and_the_old_one_stops_working(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    first = await login(client, email=ADMIN_EMAIL)

    # Log in again while presenting the existing (valid) session id.
    second = await login(client, email=ADMIN_EMAIL)

    assert second != first
    async with sessions() as session:
        assert await session.get(LoginSession, first) is None
    client.cookies.set(SESSION_COOKIE, first)
    stale = await client.get("/", follow_redirects=False)
    assert stale.status_code == 303
    assert stale.headers["location"].startswith("/login")


async def test_login_never_adopts_a_session_id_chosen_by_the_client(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    client.cookies.set(SESSION_COOKIE, "attacker-chosen-id")

    response = await post_login(client, email=ADMIN_EMAIL)

    issued = _set_cookie_header(response, SESSION_COOKIE)
    assert "attacker-chosen-id" not in issued
    async with sessions() as session:
        assert await session.get(LoginSession, "attacker-chosen-id") is None


@pytest.mark.parametrize(
    ("email", "password"),
    [(ADMIN_EMAIL, "wrong password"), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
async def test_failed_login_shows_one_generic_error(
    client: Any, sessions: async_sessionmaker[AsyncSession], email: str, password: str
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")

    response = await post_login(client, email=email, password=password)

    assert response.status_code == 400
    assert LOGIN_FAILED in response.text
    assert SESSION_COOKIE not in response.cookies
    assert "nobody" not in response.text.replace('value="nobody@example.com"', "")


async def test_disabled_user_cannot_log_in(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    async with sessions.begin() as session:
        (await session.get(User, user_id)).disabled = True  # type: ignore[union-attr]

    response = await post_login(client, email=ADMIN_EMAIL)

    assert response.status_code == 400
    assert LOGIN_FAILED in response.text


async def test_login_rate_limit_answers_429_with_retry_after(
    client: Any, sessions: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    token = await csrf_token(client)
    limit = settings.auth.login_rate_limit_per_minute
    form = {"email": ADMIN_EMAIL, "password": "wrong", "_csrf_token": token}

    statuses = [
        (await client.post("/login", data=form, follow_redirects=False)).status_code
        for _ in range(limit)
    ]
    blocked = await client.post(
        "/login", data=form | {"password": PASSWORD}, follow_redirects=False
    )

    assert statuses == [400] * limit
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert "Too many login attempts" in blocked.text
    assert SESSION_COOKIE not in blocked.cookies
    # Only the login POST is limited: pages and the login form still answer.
    assert (await client.get("/login")).status_code == 200


async def test_logout_deletes_the_session_and_the_old_id_stops_working(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    session_id = await login(client, email=ADMIN_EMAIL)
    token = await page_token(client)

    response = await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "max-age=0" in _set_cookie_header(response, SESSION_COOKIE).lower()
    async with sessions() as session:
        assert await session.get(LoginSession, session_id) is None
    client.cookies.set(SESSION_COOKIE, session_id)
    again = await client.get("/", follow_redirects=False)
    assert again.status_code == 303


@pytest.mark.parametrize(
    ("next_path", "expected"),
    [
        ("/alerts?state=firing", "/alerts?state=firing"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
async def test_login_redirects_only_to_local_next(
    client: Any, sessions: async_sessionmaker[AsyncSession], next_path: str, expected: str
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")

    response = await post_login(client, email=ADMIN_EMAIL, next_path=next_path)

    assert response.status_code == 303
    assert response.headers["location"] == expected


async def test_anonymous_page_request_redirects_to_login_with_next(client: Any) -> None:
    response = await client.get("/alerts?state=firing", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Falerts%3Fstate%3Dfiring"


async def test_anonymous_visits_store_no_session(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for path in ("/login", "/", "/healthz"):
        response = await client.get(path, follow_redirects=False)
        assert SESSION_COOKIE not in response.cookies
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LoginSession)) == 0


async def test_signed_in_user_visiting_login_goes_on(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)

    response = await client.get("/login?next=/tasks", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/tasks"
