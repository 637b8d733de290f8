"""/api/v1/services: CRUD with bearer tokens; bad input gets a reasoned 4xx and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.models import Service, ServiceStateChange
from app.services.registry import list_services
from tests.integration.auth.helpers import token_headers

SHOP = {"name": "Shop API", "base_url": "https://shop.internal:8443/api/"}


@pytest.fixture
async def write(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    return await token_headers(sessions, scope="write")


async def test_create_list_get_update_regenerate_and_delete_a_service(
    client: Any, write: dict[str, str], settings: Any
) -> None:
    created = await client.post(
        "/api/v1/services",
        json=SHOP | {"metrics_path": "/metrics", "labels": {"team": "checkout"}},
        headers=write,
    )
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["name"] == "Shop API"
    assert service["base_url"] == "https://shop.internal:8443/api"
    assert (service["health_path"], service["expected_status"]) == ("/healthz", 200)
    assert (service["interval_seconds"], service["timeout_seconds"]) == (60, 5.0)
    assert service["metrics_path"] == "/metrics"
    assert service["labels"] == {"team": "checkout"}
    assert (service["enabled"], service["state"]) == (True, "pending")
    assert len(service["ping_token"]) == 32
    public_url = settings.server.public_url
    assert service["ping_url"] == f"{public_url}/ping/{service['ping_token']}"

    listed = await client.get("/api/v1/services", headers=write)
    got = await client.get(f"/api/v1/services/{service['id']}", headers=write)
    assert [s["name"] for s in listed.json()] == ["Shop API"]
    assert got.json() == service

    patched = await client.patch(
        f"/api/v1/services/{service['id']}",
        json={"metrics_path": None, "interval_seconds": 30, "timeout_seconds": 2.5},
        headers=write,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["metrics_path"] is None
    assert (patched.json()["interval_seconds"], patched.json()["timeout_seconds"]) == (30, 2.5)
    assert patched.json()["name"] == "Shop API"
    assert patched.json()["ping_token"] == service["ping_token"]

    retokened = await client.post(
        f"/api/v1/services/{service['id']}/regenerate-token", headers=write
    )
    assert retokened.status_code == 200
    assert retokened.json()["ping_token"] != service["ping_token"]

    deleted = await client.delete(f"/api/v1/services/{service['id']}", headers=write)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/services/{service['id']}", headers=write)).status_code == 404
    assert (
        await client.delete(f"/api/v1/services/{service['id']}", headers=write)
    ).status_code == 404


async def test_disabling_pauses_and_enabling_resumes_with_state_changes_recorded(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    service = (await client.post("/api/v1/services", json=SHOP, headers=write)).json()
    path = f"/api/v1/services/{service['id']}"

    paused = (await client.patch(path, json={"enabled": False}, headers=write)).json()
    resumed = (await client.patch(path, json={"enabled": True}, headers=write)).json()

    assert (paused["enabled"], paused["state"]) == (False, "paused")
    assert (resumed["enabled"], resumed["state"]) == (True, "pending")
    async with sessions() as session:
        changes = (
            await session.execute(
                select(ServiceStateChange.from_state, ServiceStateChange.to_state).order_by(
                    ServiceStateChange.id
                )
            )
        ).all()
    assert [tuple(c) for c in changes] == [("pending", "paused"), ("paused", "pending")]


async def test_a_service_registered_disabled_starts_paused(
    client: Any, write: dict[str, str]
) -> None:
    created = await client.post("/api/v1/services", json=SHOP | {"enabled": False}, headers=write)

    assert created.status_code == 201
    assert (created.json()["enabled"], created.json()["state"]) == (False, "paused")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (SHOP | {"base_url": "ftp://shop.internal"}, "must start with http:// or https://"),
        (SHOP | {"base_url": "shop.internal"}, "must start with http:// or https://"),
        (SHOP | {"base_url": "https://"}, "must name a host"),
        (SHOP | {"base_url": "https://bob:secret@shop.internal"}, "user name or password"),
        (SHOP | {"base_url": "https://shop.internal/?x=1"}, "query or fragment"),
        (SHOP | {"base_url": "https://shop.internal/#top"}, "query or fragment"),
        (SHOP | {"base_url": "https://shop.internal:99999"}, "invalid host or port"),
        (SHOP | {"base_url": "https://sh op.internal"}, "spaces"),
        (SHOP | {"health_path": "healthz"}, "health path must start with /"),
        (SHOP | {"health_path": "/health z"}, "spaces"),
        (SHOP | {"metrics_path": "metrics"}, "metrics path must start with /"),
        (SHOP | {"metrics_path": "/metrics?x=1"}, "must not have a query"),
        (SHOP | {"expected_status": 99}, "Expected `int` >= 100"),
        (SHOP | {"expected_status": 600}, "Expected `int` <= 599"),
        (SHOP | {"interval_seconds": 9}, "Expected `int` >= 10"),
        (SHOP | {"timeout_seconds": 0}, "Expected `float` > 0.0"),
        (SHOP | {"interval_seconds": 10, "timeout_seconds": 10}, "must be shorter than"),
        (SHOP | {"labels": {"1team": "x"}}, "must match [a-zA-Z_]"),
        (SHOP | {"labels": {"__address__": "x"}}, "must not start with __"),
        (SHOP | {"labels": {"vigil_service": "x"}}, "set by Vigil itself"),
        (SHOP | {"labels": {"team": "x" * 201}}, "longer than 200"),
        (SHOP | {"labels": {f"l{i}": "x" for i in range(21)}}, "length <= 20"),
        (SHOP | {"labels": {"team": 1}}, "Expected `str`, got `int`"),
        (SHOP | {"colour": "red"}, "unknown field `colour`"),
        (SHOP | {"name": ""}, "length >= 1"),
        (SHOP | {"name": "   "}, "name must not be empty"),
        (SHOP | {"name": "x" * 101}, "length <= 100"),
        ({"base_url": "https://x.internal"}, "missing required field `name`"),
        ({"name": "No URL"}, "missing required field `base_url`"),
        (SHOP | {"enabled": "yes"}, "Expected `bool`, got `str`"),
    ],
)
async def test_bad_input_is_refused_with_a_reason_and_creates_nothing(
    client: Any,
    write: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    reason: str,
) -> None:
    response = await client.post("/api/v1/services", json=body, headers=write)

    assert response.status_code == 400, response.text
    assert reason in response.text
    assert await list_services(sessions) == []


async def test_a_body_that_is_not_json_is_refused(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    as_form = await client.post("/api/v1/services", data=SHOP, headers=write)
    mislabelled = await client.post(
        "/api/v1/services",
        content=b'{"name": "Shop API", "base_url": "https://shop.internal"}',
        headers=write | {"Content-Type": "text/plain"},
    )
    broken = await client.post(
        "/api/v1/services",
        content=b'{"name": "Shop API",',
        headers=write | {"Content-Type": "application/json"},
    )

    assert as_form.status_code == 415
    assert "application/json" in as_form.json()["detail"]
    assert mislabelled.status_code == 415
    assert broken.status_code == 400
    assert await list_services(sessions) == []


async def test_a_duplicate_name_is_a_conflict_and_changes_nothing(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = (await client.post("/api/v1/services", json=SHOP, headers=write)).json()
    other = (
        await client.post(
            "/api/v1/services",
            json={"name": "Billing", "base_url": "http://billing:8080"},
            headers=write,
        )
    ).json()

    again = await client.post("/api/v1/services", json=SHOP | {"name": "shop api"}, headers=write)
    renamed = await client.patch(
        f"/api/v1/services/{other['id']}",
        json={"name": "Shop API", "interval_seconds": 30},
        headers=write,
    )

    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    assert renamed.status_code == 409
    rows = {s.name: s for s in await list_services(sessions)}
    assert set(rows) == {"Shop API", "Billing"}
    assert rows["Billing"].interval_seconds == 60
    assert rows["Shop API"].ping_token == first["ping_token"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"timeout_seconds": 60}, "must be shorter than the interval"),
        ({"interval_seconds": 5}, "Expected `int` >= 10"),
        ({"base_url": "https://a.internal", "health_path": "nope"}, "must start with /"),
        ({"ping_token": "mine"}, "unknown field `ping_token`"),
        ({"state": "up"}, "unknown field `state`"),
    ],
)
async def test_a_bad_update_changes_nothing(
    client: Any,
    write: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    change: dict[str, Any],
    reason: str,
) -> None:
    service = (await client.post("/api/v1/services", json=SHOP, headers=write)).json()

    response = await client.patch(f"/api/v1/services/{service['id']}", json=change, headers=write)

    assert response.status_code == 400, response.text
    assert reason in response.text
    [row] = await list_services(sessions)
    assert (row.base_url, row.health_path, row.interval_seconds, row.timeout_seconds) == (
        "https://shop.internal:8443/api",
        "/healthz",
        60,
        5.0,
    )
    assert (row.state, row.ping_token) == ("pending", service["ping_token"])


async def test_unknown_services_are_404(client: Any, write: dict[str, str]) -> None:
    assert (await client.get("/api/v1/services/999", headers=write)).status_code == 404
    patched = await client.patch("/api/v1/services/999", json={}, headers=write)
    assert patched.status_code == 404
    assert "no service with id 999" in patched.json()["detail"]
    regenerated = await client.post("/api/v1/services/999/regenerate-token", headers=write)
    assert regenerated.status_code == 404


async def test_a_read_token_can_list_but_not_change_services(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    service = (await client.post("/api/v1/services", json=SHOP, headers=write)).json()
    read = await token_headers(sessions, scope="read", role="viewer")

    listed = await client.get("/api/v1/services", headers=read)
    created = await client.post("/api/v1/services", json=SHOP | {"name": "B"}, headers=read)
    deleted = await client.delete(f"/api/v1/services/{service['id']}", headers=read)

    assert listed.status_code == 200
    assert (created.status_code, deleted.status_code) == (403, 403)
    assert [s.name for s in await list_services(sessions)] == ["Shop API"]


async def test_a_viewer_cannot_change_services_even_with_a_write_token(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    service = (await client.post("/api/v1/services", json=SHOP, headers=write)).json()
    viewer = await token_headers(sessions, scope="write", role="viewer")
    path = f"/api/v1/services/{service['id']}"

    created = await client.post("/api/v1/services", json=SHOP | {"name": "B"}, headers=viewer)
    patched = await client.patch(path, json={"enabled": False}, headers=viewer)
    retokened = await client.post(f"{path}/regenerate-token", headers=viewer)
    deleted = await client.delete(path, headers=viewer)

    assert [r.status_code for r in (created, patched, retokened, deleted)] == [403] * 4
    async with sessions() as session:
        row = await session.get(Service, service["id"])
    assert row is not None
    assert (row.enabled, row.ping_token) == (True, service["ping_token"])


async def test_viewers_never_see_the_ping_token(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    service = (await client.post("/api/v1/services", json=SHOP, headers=write)).json()
    viewer = await token_headers(sessions, scope="read", role="viewer")

    listed = await client.get("/api/v1/services", headers=viewer)
    got = await client.get(f"/api/v1/services/{service['id']}", headers=viewer)

    assert listed.status_code == got.status_code == 200
    assert "ping_token" not in got.json()
    assert "ping_url" not in got.json()
    assert service["ping_token"] not in listed.text
    assert service["ping_token"] not in got.text


async def test_anonymous_requests_are_refused(client: Any) -> None:
    assert (await client.get("/api/v1/services")).status_code == 401
    assert (await client.get("/api/v1/services/1")).status_code == 401
    assert (await client.post("/api/v1/services", json=SHOP)).status_code == 401
