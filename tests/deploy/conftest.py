"""One real Vigil for the live deploy tests, started with the tokens compose gives it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from app.auth.models import User
from app.auth.tokens import create_token
from app.config import DatabaseSettings
from app.db.engine import create_engine, create_session_factory
from tests.deploy.compose import operator_env
from tests.support.server import RunningServer, vigil_server

TEST_SERVICE = "deploy-test"


@dataclass
class LiveVigil:
    server: RunningServer
    env: dict[str, str]
    """The .env values it runs with (VIGIL_METRICS_TOKEN, VIGIL_PROMETHEUS_TOKEN, ...)."""

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])

    def scrape(self) -> str:
        response = httpx.get(
            f"{self.server.url}/metrics",
            headers={"Authorization": f"Bearer {self.env['VIGIL_METRICS_TOKEN']}"},
            timeout=5,
        )
        response.raise_for_status()
        return response.text


async def _write_token(database_url: str) -> str:
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        sessions = create_session_factory(engine)
        async with sessions() as session:
            admin_id = await session.scalar(select(User.id).where(User.role == "admin"))
        assert admin_id is not None
        issued = await create_token(sessions, user_id=admin_id, name="deploy-test", scope="write")
        return issued.secret
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def live_vigil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveVigil]:
    """Vigil (SQLite, scheduler on) with compose's token settings and one registered
    service whose metrics Prometheus can scrape (Vigil's own /metrics, open to loopback)."""
    tmp = tmp_path_factory.mktemp("live-vigil")
    env = operator_env()
    vigil_env = {
        "VIGIL_TELEMETRY__METRICS__BEARER_TOKEN": env["VIGIL_METRICS_TOKEN"],
        "VIGIL_PROMETHEUS_TOKEN": env["VIGIL_PROMETHEUS_TOKEN"],
        "VIGIL_ADMIN_EMAIL": env["VIGIL_ADMIN_EMAIL"],
        "VIGIL_ADMIN_PASSWORD": env["VIGIL_ADMIN_PASSWORD"],
    }
    with vigil_server(tmp, env=vigil_env) as server:
        token = asyncio.run(_write_token(f"sqlite+aiosqlite:///{tmp / 'vigil.db'}"))
        response = httpx.post(
            f"{server.url}/api/v1/services",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "name": TEST_SERVICE,
                "base_url": server.url,
                "metrics_path": "/metrics",
                "labels": {"team": "ops"},
            },
            timeout=5,
        )
        assert response.status_code == 201, response.text
        yield LiveVigil(server=server, env=env)
