"""Bearer tokens on /api/v1: scopes, revocation, roles, and the token endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import ApiToken
from app.auth.tokens import create_token, hash_secret, revoke_token
from app.db.base import utcnow
from tests.integration.auth.helpers import ADMIN_EMAIL, VIEWER_EMAIL, bearer, make_user


async def test_read_token_can_get_but_not_post(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    admin_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    issued = await create_token(sessions, user_id=admin_id, name="grafana", scope="read")

    me = await client.get("/api/v1/me", headers=bearer(issued.secret))
    listed = await client.get("/api/v1/tokens", headers=bearer(issued.secret))
    created = await client.post("/api/v1/tokens", json={"name": "x"}, headers=bearer(issued.secret))

    assert me.status_code == 200
    assert me.json() == {
        "email": ADMIN_EMAIL,
        "role": "admin",
        "authenticated_by": "token",
        "token_scope": "read",
    }
    assert listed.status_code == 200
    assert created.status_code == 403
    assert "scope 'read' does not allow POST" in created.json()["detail"]


async def test_write_token_can_create_and_revoke_tokens(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    admin_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    issued = await create_token(sessions, user_id=admin_id, name="ci", scope="write")

    created = await client.post(
        "/api/v1/tokens",
        json={"name": "deploy", "scope": "read", "expires_in_days": 30},
        headers=bearer(issued.secret),
    )
    body = created.json()
    revoked = await client.delete(f"/api/v1/tokens/{body['id']}", headers=bearer(issued.secret))
    revoked_again = await client.delete(
        f"/api/v1/tokens/{body['id']}", headers=bearer(issued.secret)
    )
    listed = (await client.get("/api/v1/tokens", headers=bearer(issued.secret))).json()

    assert created.status_code == 201
    assert body["secret"].startswith("vgl_")
    assert body["prefix"] == body["secret"][: len(body["prefix"])]
    assert revoked.status_code == 204
    assert revoked_again.status_code == 404
    assert {t["name"] for t in listed} == {"ci", "deploy"}
    assert all("secret" not in t for t in listed)
    assert (await client.get("/api/v1/me", headers=bearer(body["secret"]))).status_code == 401


async def test_only_the_hash_of_a_token_is_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    admin_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    issued = await create_token(sessions, user_id=admin_id, name="ci", scope="read")

    async with sessions() as session:
        row = await session.scalar(select(ApiToken).where(ApiToken.id == issued.id))

    assert row is not None
    assert row.secret_hash == hash_secret(issued.secret)
    assert issued.secret not in {row.name, row.prefix, row.secret_hash}


@pytest.mark.parametrize("case", ["revoked", "expired", "unknown", "malformed", "missing"])
async def test_unusable_token_gets_401_with_a_reason(
    client: Any, sessions: async_sessionmaker[AsyncSession], case: str
) -> None:
    admin_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    expires_at = utcnow() - timedelta(seconds=1) if case == "expired" else None
    issued = await create_token(
        sessions, user_id=admin_id, name="ci", scope="write", expires_at=expires_at
    )
    if case == "revoked":
        await revoke_token(sessions, token_id=issued.id)
    headers = {
        "revoked": bearer(issued.secret),
        "expired": bearer(issued.secret),
        "unknown": bearer("vgl_" + "x" * 43),
        "malformed": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "missing": {},
    }[case]

    response = await client.get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["detail"]


async def test_token_use_is_recorded(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    admin_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    issued = await create_token(sessions, user_id=admin_id, name="ci", scope="read")

    await client.get("/api/v1/me", headers=bearer(issued.secret))

    async with sessions() as session:
        row = await session.get(ApiToken, issued.id)
    assert row is not None
    assert row.last_used_at is not None


async def test_viewer_gets_403_on_admin_action(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    viewer_id = await make_user(sessions, email=VIEWER_EMAIL, role="viewer")
    issued = await create_token(sessions, user_id=viewer_id, name="mine", scope="write")

    created = await client.post(
        "/api/v1/tokens", json={"name": "escalate"}, headers=bearer(issued.secret)
    )
    listed = await client.get("/api/v1/tokens", headers=bearer(issued.secret))

    assert created.status_code == 403
    assert "admin" in created.json()["detail"]
    assert [t["name"] for t in listed.json()] == ["mine"]


async def test_session_cookie_does_not_authenticate_the_api(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.integration.auth.helpers import login

    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)

    response = await client.get("/api/v1/me")

    assert response.status_code == 401


async def test_bad_token_request_body_gets_400_with_reason(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    admin_id = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    issued = await create_token(sessions, user_id=admin_id, name="ci", scope="write")

    response = await client.post(
        "/api/v1/tokens", json={"name": "x", "scope": "admin"}, headers=bearer(issued.secret)
    )

    assert response.status_code == 400
    assert "scope" in response.text
