"""The beacon route in front of the router: measured under its template, 503 without a DB."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.integration.rum.test_ingest import (  # noqa: F401 (fixtures)
    HEADERS,
    KEY,
    URL,
    beacon,
    client,
    settings,
    site,
)
from tests.support.server import free_port


async def test_beacons_are_measured_under_the_route_template(client: Any) -> None:
    assert (await client.post(URL, content=beacon(), headers=HEADERS)).status_code == 202
    registry = client.app.state.telemetry.registry
    routes = {
        sample.labels["route"]
        for family in registry.collect()
        if family.name == "vigil_http_requests"
        for sample in family.samples
    }
    assert "/rum/v1/{site_key}" in routes
    assert not any(KEY in route for route in routes)


async def test_unreachable_database_answers_503_not_500() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    async with AsyncTestClient(create_app(make_settings(url))) as client:
        response = await client.post(URL, content=beacon(), headers=HEADERS)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == "temporarily unavailable"


async def test_other_paths_still_reach_the_router(client: Any) -> None:
    assert (await client.get("/rum/v2/whatever")).status_code in (303, 404)
    assert (await client.get("/healthz")).status_code == 200
