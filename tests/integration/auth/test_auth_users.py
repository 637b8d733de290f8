"""Creating users, authenticating, and bootstrapping the first admin."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import User
from app.auth.passwords import verify_password
from app.auth.users import UserError, UserExistsError, authenticate, create_user, ensure_admin


async def test_create_user_stores_lowercased_email_and_argon2id_hash(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    user = await create_user(sessions, email=" Ops@Example.com ", password="long enough")

    assert user.email == "ops@example.com"
    assert user.role == "viewer"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "long enough")


async def test_duplicate_email_is_refused_case_insensitively(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create_user(sessions, email="ops@example.com", password="long enough")

    with pytest.raises(UserExistsError):
        await create_user(sessions, email="OPS@example.com", password="long enough")


@pytest.mark.parametrize(
    ("email", "password", "role"),
    [
        ("not-an-email", "long enough", "viewer"),
        ("a@b.c", "short", "viewer"),
        ("a@b.c", "long enough", "root"),
    ],
)
async def test_bad_user_is_refused_with_a_reason(
    sessions: async_sessionmaker[AsyncSession], email: str, password: str, role: str
) -> None:
    with pytest.raises(UserError):
        await create_user(sessions, email=email, password=password, role=role)


async def test_authenticate_accepts_right_password_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create_user(sessions, email="ops@example.com", password="long enough")

    assert await authenticate(sessions, email="OPS@example.com", password="long enough")
    assert await authenticate(sessions, email="ops@example.com", password="wrong") is None
    assert await authenticate(sessions, email="nobody@example.com", password="x") is None


async def test_ensure_admin_generates_a_password_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    password = await ensure_admin(sessions, email="admin@localhost", password=None)

    again = await ensure_admin(sessions, email="admin@localhost", password=None)

    assert password is not None
    assert len(password) >= 12
    assert again is None
    user = await authenticate(sessions, email="admin@localhost", password=password)
    assert user is not None
    assert user.role == "admin"


async def test_ensure_admin_uses_the_given_password_and_returns_none(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await ensure_admin(sessions, email="root@example.com", password="from the env") is None

    assert await authenticate(sessions, email="root@example.com", password="from the env")


async def test_ensure_admin_does_nothing_when_users_exist(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create_user(sessions, email="first@example.com", password="long enough", role="admin")

    assert await ensure_admin(sessions, email="admin@localhost", password=None) is None
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
