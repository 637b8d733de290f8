"""The real Debian Prometheus discovers a service through Vigil's HTTP SD and scrapes it.

A real `vigil serve` process (SQLite) knows one service, registered through
``POST /api/v1/services``; ``/usr/bin/prometheus`` polls ``/sd/prometheus`` with an API token
every second, scrapes the small test service it finds there, and its own query API then
answers ``up == 1`` with Vigil's labels. Vigil's own scheduler checks the service too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.auth.tokens import create_token
from app.auth.users import create_user
from app.config import DatabaseSettings
from app.db.engine import create_engine, create_session_factory
from tests.integration.services.target_service import running_target
from tests.support.prometheus import NEEDS_PROMETHEUS, running_prometheus
from tests.support.server import vigil_server

DEADLINE_SECONDS = 30.0

pytestmark = [
    pytest.mark.slow,
    NEEDS_PROMETHEUS,
]


async def _write_token(db_path: Path) -> str:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{db_path}"))
    sessions = create_session_factory(engine)
    try:
        user = await create_user(
            sessions, email="ops@example.com", password="correct horse battery", role="admin"
        )
        return (await create_token(sessions, user_id=user.id, name="sd", scope="write")).secret
    finally:
        await engine.dispose()


@contextmanager
def prometheus(tmp_path: Path, *, sd_url: str, token: str) -> Iterator[str]:
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "vigil-services",
                "http_sd_configs": [
                    {
                        "url": sd_url,
                        "refresh_interval": "1s",
                        "authorization": {"credentials": token},
                    }
                ],
            }
        ],
    }
    with running_prometheus(tmp_path, yaml.safe_dump(config)) as url:
        yield url


async def _poll(check: Any, what: str, log: Path) -> Any:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.5)
    output = await asyncio.to_thread(log.read_text)
    pytest.fail(f"{what} within {DEADLINE_SECONDS:.0f} s; log:\n{output}")


async def test_prometheus_discovers_and_scrapes_a_registered_service(tmp_path: Path) -> None:
    env = {"VIGIL_SERVICES__JOB_INTERVAL_SECONDS": "1"}
    async with running_target() as target, httpx.AsyncClient(timeout=5) as http:
        with vigil_server(tmp_path, env=env) as vigil:
            token = await _write_token(tmp_path / "vigil.db")
            auth = {"Authorization": f"Bearer {token}"}
            created = await http.post(
                f"{vigil.url}/api/v1/services",
                headers=auth,
                json={
                    "name": "shop",
                    "base_url": target.url,
                    "health_path": "/healthz",
                    "metrics_path": "/metrics",
                    "interval_seconds": 10,
                    "timeout_seconds": 2,
                    "labels": {"team": "checkout"},
                },
            )
            assert created.status_code == 201, created.text
            service_id = created.json()["id"]

            with prometheus(tmp_path, sd_url=f"{vigil.url}/sd/prometheus", token=token) as prom:

                async def up_series() -> list[Any]:
                    try:
                        answer = await http.get(
                            f"{prom}/api/v1/query", params={"query": 'up{vigil_service="shop"}'}
                        )
                    except httpx.TransportError:
                        return []  # still starting
                    result: list[Any] = answer.json()["data"]["result"]
                    return result

                (series,) = await _poll(up_series, "no up series", tmp_path / "prometheus.log")
                assert series["value"][1] == "1"
                assert series["metric"] == {
                    "__name__": "up",
                    "instance": f"127.0.0.1:{target.port}",
                    "job": "vigil-services",
                    "team": "checkout",
                    "vigil_service": "shop",
                }
                orders = await http.get(
                    f"{prom}/api/v1/query", params={"query": 'shop_orders_total{region="us"}'}
                )
                (sample,) = orders.json()["data"]["result"]
                assert sample["value"][1] == "30"

            async def checked_up() -> bool:
                answer = await http.get(f"{vigil.url}/api/v1/services/{service_id}", headers=auth)
                return bool(answer.json()["state"] == "up")

            await _poll(checked_up, "Vigil's own check did not find it up", vigil.log_path)

    scrapers = {r.get("user-agent", "") for r in target.requests if r[":path"] == "/metrics"}
    assert any(agent.startswith("Prometheus/") for agent in scrapers)
