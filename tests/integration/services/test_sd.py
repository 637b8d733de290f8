"""GET /sd/prometheus: API-token auth and the HTTP SD JSON of enabled services with metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.tokens import create_token
from app.db.base import utcnow
from tests.integration.auth.helpers import make_user
from tests.integration.services.test_checks import add_service

URL = "/sd/prometheus"


async def _token(
    sessions: async_sessionmaker[AsyncSession], *, scope: str = "read", **kwargs: Any
) -> str:
    user_id = await make_user(sessions, email=f"prom-{scope}@example.com")
    issued = await create_token(sessions, user_id=user_id, name="prometheus", scope=scope, **kwargs)
    return issued.secret


async def test_targets_of_enabled_services_with_metrics(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await add_service(
        sessions,
        name="shop",
        base_url="https://shop.internal:8443/api",
        metrics_path="/metrics",
        labels={"team": "checkout", "bad-label": "dropped"},
    )
    await add_service(sessions, name="billing", base_url="http://10.0.0.7", metrics_path="/prom")
    await add_service(sessions, name="no-metrics", base_url="http://10.0.0.8")
    await add_service(
        sessions, name="disabled", base_url="http://10.0.0.9", metrics_path="/m", enabled=False
    )
    token = await _token(sessions)

    response = await client.get(URL, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == [
        {
            "targets": ["10.0.0.7:80"],
            "labels": {
                "__scheme__": "http",
                "__metrics_path__": "/prom",
                "vigil_service": "billing",
            },
        },
        {
            "targets": ["shop.internal:8443"],
            "labels": {
                "team": "checkout",
                "__scheme__": "https",
                "__metrics_path__": "/api/metrics",
                "vigil_service": "shop",
            },
        },
    ]


async def test_no_services_is_an_empty_list(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await _token(sessions)
    response = await client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == []


async def test_without_a_valid_token_the_answer_is_401(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    expired = await _token(sessions, expires_at=utcnow() - timedelta(minutes=1))
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer vgl_not-a-real-token"},
        {"Authorization": f"Bearer {expired}"},
    ):
        response = await client.get(URL, headers=headers, follow_redirects=False)
        assert response.status_code == 401, headers
        assert response.json()["detail"], headers
        assert response.headers["www-authenticate"].startswith("Bearer"), headers


async def test_a_login_session_is_not_enough(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.integration.auth.helpers import ADMIN_EMAIL, login

    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)
    response = await client.get(URL, follow_redirects=False)
    assert response.status_code == 401


async def test_write_tokens_may_read_it_too(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await _token(sessions, scope="write")
    response = await client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_a_bare_token_is_accepted_as_prometheus_sends_it(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await _token(sessions)
    assert (await client.get(URL, headers={"Authorization": token})).status_code == 200
    refused = await client.get(URL, headers={"Authorization": f"{token} extra"})
    assert refused.status_code == 401
