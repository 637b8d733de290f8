"""provision_token: an operator-chosen secret (VIGIL_PROMETHEUS_TOKEN) as a live API token."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import ApiToken
from app.auth.tokens import authenticate_token, provision_token, revoke_token
from app.db.base import utcnow
from tests.integration.auth.helpers import ADMIN_EMAIL, VIEWER_EMAIL, make_user
from tests.integration.cli.test_cli import vigil


def _secret() -> str:
    return "vgl_" + secrets.token_urlsafe(32)


async def _tokens(sessions: async_sessionmaker[AsyncSession]) -> list[ApiToken]:
    async with sessions() as session:
        return list((await session.scalars(select(ApiToken).order_by(ApiToken.id))).all())


async def test_secret_becomes_a_read_token_of_the_first_admin(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    admin_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    secret = _secret()

    assert await provision_token(sessions, secret=secret, name="prometheus", scope="read") == (
        "created"
    )
    owner = await authenticate_token(sessions, secret=secret, now=utcnow())
    assert owner is not None
    assert (owner.user_id, owner.scope, owner.role) == (admin_id, "read", "admin")
    # Starting again with the same secret stores nothing new.
    assert await provision_token(sessions, secret=secret, name="prometheus", scope="read") == (
        "present"
    )
    assert len(await _tokens(sessions)) == 1


async def test_a_new_secret_rotates_the_token_of_that_name(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    old, new = _secret(), _secret()
    await provision_token(sessions, secret=old, name="prometheus", scope="read")

    assert await provision_token(sessions, secret=new, name="prometheus", scope="read") == (
        "created"
    )
    assert await authenticate_token(sessions, secret=old, now=utcnow()) is None
    assert await authenticate_token(sessions, secret=new, now=utcnow()) is not None


async def test_a_token_revoked_in_the_ui_stays_revoked(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    secret = _secret()
    await provision_token(sessions, secret=secret, name="prometheus", scope="read")
    (token,) = await _tokens(sessions)
    assert await revoke_token(sessions, token_id=token.id)

    assert await provision_token(sessions, secret=secret, name="prometheus", scope="read") == (
        "revoked"
    )
    assert await authenticate_token(sessions, secret=secret, now=utcnow()) is None


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("not-a-vigil-token-but-long-enough-0123456789", "must start with 'vgl_'"),
        ("vgl_short", "at least 32 random characters"),
    ],
)
async def test_a_weak_or_foreign_secret_is_refused_and_nothing_is_stored(
    sessions: async_sessionmaker[AsyncSession], secret: str, reason: str
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    with pytest.raises(ValueError, match=reason):
        await provision_token(sessions, secret=secret, name="prometheus", scope="read")
    assert await _tokens(sessions) == []


async def test_without_an_admin_nothing_is_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    with pytest.raises(ValueError, match="no admin"):
        await provision_token(sessions, secret=_secret(), name="prometheus", scope="read")
    assert await _tokens(sessions) == []


def test_serve_with_a_bad_prometheus_token_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = vigil(
        "serve",
        env={
            "VIGIL_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}",
            "VIGIL_PROMETHEUS_TOKEN": "changeme",
            "VIGIL_TELEMETRY__TRACING__ENABLED": "false",
        },
    )
    assert result.returncode == 2
    assert "VIGIL_PROMETHEUS_TOKEN: a token must start with 'vgl_'" in result.stderr
    assert "changeme" not in result.stderr + result.stdout  # the value is never echoed
