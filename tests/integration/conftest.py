"""Clients signed in through the real login form, for the page tests of every domain."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.auth.helpers import ADMIN_EMAIL, VIEWER_EMAIL, login, make_user


@pytest.fixture
async def admin(client: Any, sessions: async_sessionmaker[AsyncSession]) -> Any:
    """The test client, logged in as an admin."""
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)
    return client


@pytest.fixture
async def viewer(client: Any, sessions: async_sessionmaker[AsyncSession]) -> Any:
    """The test client, logged in as a viewer."""
    await make_user(sessions, email=VIEWER_EMAIL, role="viewer")
    await login(client, email=VIEWER_EMAIL)
    return client
