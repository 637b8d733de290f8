"""/api/v1/sites: CRUD with bearer tokens; bad input gets a reasoned 4xx and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.rum.sites import DEMO_SITE_NAME, ensure_demo_site, list_sites
from tests.integration.auth.helpers import token_headers

SHOP = {"name": "Shop", "allowed_origins": ["https://shop.example.com"]}


@pytest.fixture
async def write(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    return await token_headers(sessions, scope="write")


async def test_create_list_get_update_regenerate_and_delete_a_site(
    client: Any, write: dict[str, str], settings: Any
) -> None:
    created = await client.post(
        "/api/v1/sites", json=SHOP | {"sample_rate": 0.5, "page_cap": 100}, headers=write
    )
    assert created.status_code == 201, created.text
    site = created.json()
    public_url = settings.server.public_url
    assert site["name"] == "Shop"
    assert len(site["key"]) == 16
    assert site["allowed_origins"] == ["https://shop.example.com"]
    assert (site["sample_rate"], site["page_cap"]) == (0.5, 100)
    assert site["endpoint"] == f"{public_url}/rum/v1/{site['key']}"
    assert site["tag"] == (
        f'<script src="{public_url}/static/vigil-rum.js" data-site="{site["key"]}" '
        f'data-endpoint="{public_url}/rum/v1/{site["key"]}" data-sample="0.5" defer></script>'
    )

    listed = await client.get("/api/v1/sites", headers=write)
    got = await client.get(f"/api/v1/sites/{site['id']}", headers=write)
    assert [s["name"] for s in listed.json()] == ["Shop"]
    assert got.json() == site

    patched = await client.patch(
        f"/api/v1/sites/{site['id']}",
        json={"allowed_origins": ["https://shop.example.com", "http://localhost:3000"]},
        headers=write,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["allowed_origins"] == [
        "https://shop.example.com",
        "http://localhost:3000",
    ]
    assert patched.json()["name"] == "Shop"
    assert patched.json()["key"] == site["key"]

    rekeyed = await client.post(f"/api/v1/sites/{site['id']}/regenerate-key", headers=write)
    assert rekeyed.status_code == 200
    assert rekeyed.json()["key"] != site["key"]
    assert rekeyed.json()["key"] in rekeyed.json()["tag"]

    deleted = await client.delete(f"/api/v1/sites/{site['id']}", headers=write)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/sites/{site['id']}", headers=write)).status_code == 404
    assert (await client.delete(f"/api/v1/sites/{site['id']}", headers=write)).status_code == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"name": "Blog", "allowed_origins": ["https://blog.example.com/posts"]}, "path"),
        ({"name": "Blog", "allowed_origins": ["blog.example.com"]}, "must look like"),
        ({"name": "Blog", "sample_rate": 0}, "sample_rate"),
        ({"name": "Blog", "sample_rate": 1.5}, "sample_rate"),
        ({"name": "Blog", "page_cap": 0}, "page_cap"),
        ({"name": "Blog", "colour": "red"}, "colour"),
        ({"name": ""}, "name"),
        ({"allowed_origins": []}, "name"),
        ({"name": "   "}, "name must not be empty"),
    ],
)
async def test_bad_input_is_refused_with_a_reason_and_creates_nothing(
    client: Any,
    write: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    reason: str,
) -> None:
    response = await client.post("/api/v1/sites", json=body, headers=write)

    assert response.status_code == 400, response.text
    assert reason in response.text
    assert await list_sites(sessions) == []


async def test_a_duplicate_name_is_a_conflict_and_changes_nothing(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = (await client.post("/api/v1/sites", json=SHOP, headers=write)).json()
    blog = (await client.post("/api/v1/sites", json={"name": "Blog"}, headers=write)).json()

    again = await client.post("/api/v1/sites", json={"name": "shop"}, headers=write)
    renamed = await client.patch(
        f"/api/v1/sites/{blog['id']}",
        json={"name": "Shop", "sample_rate": 0.1},
        headers=write,
    )

    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    assert renamed.status_code == 409
    rows = {s.name: s for s in await list_sites(sessions)}
    assert set(rows) == {"Shop", "Blog"}
    assert rows["Blog"].sample_rate == 1.0
    assert rows["Shop"].key == first["key"]


async def test_a_bad_update_changes_nothing(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    site = (await client.post("/api/v1/sites", json=SHOP, headers=write)).json()

    response = await client.patch(
        f"/api/v1/sites/{site['id']}",
        json={"name": "Renamed", "allowed_origins": ["https://ok.example", "nope"]},
        headers=write,
    )

    assert response.status_code == 400
    assert "'nope'" in response.json()["detail"]
    [row] = await list_sites(sessions)
    assert (row.name, row.allowed_origins) == ("Shop", ["https://shop.example.com"])


async def test_unknown_sites_are_404(client: Any, write: dict[str, str]) -> None:
    assert (await client.patch("/api/v1/sites/999", json={}, headers=write)).status_code == 404
    assert (await client.post("/api/v1/sites/999/regenerate-key", headers=write)).status_code == 404


async def test_a_read_token_can_list_but_not_change_sites(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    read = await token_headers(sessions, scope="read")

    listed = await client.get("/api/v1/sites", headers=read)
    created = await client.post("/api/v1/sites", json=SHOP, headers=read)

    assert listed.status_code == 200
    assert created.status_code == 403
    assert await list_sites(sessions) == []


async def test_a_viewer_cannot_change_sites_even_with_a_write_token(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    viewer = await token_headers(sessions, scope="write", role="viewer")

    created = await client.post("/api/v1/sites", json=SHOP, headers=viewer)

    assert created.status_code == 403
    assert (await client.get("/api/v1/sites", headers=viewer)).status_code == 200


async def test_anonymous_requests_are_refused(client: Any) -> None:
    assert (await client.get("/api/v1/sites")).status_code == 401
    assert (await client.post("/api/v1/sites", json=SHOP)).status_code == 401


async def test_the_demo_site_is_created_once_with_the_public_origin(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await ensure_demo_site(sessions, public_url="http://127.0.0.1:8000/")
    second = await ensure_demo_site(sessions, public_url="http://127.0.0.1:8000/")

    assert first is not None
    assert second is None
    [site] = await list_sites(sessions)
    assert site.name == DEMO_SITE_NAME
    assert site.allowed_origins == ["http://127.0.0.1:8000"]


async def test_no_demo_site_is_added_when_a_site_exists(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.post("/api/v1/sites", json=SHOP, headers=write)

    assert await ensure_demo_site(sessions, public_url="http://127.0.0.1:8000") is None
    assert [s.name for s in await list_sites(sessions)] == ["Shop"]


async def test_ingest_follows_site_changes_at_once(client: Any, write: dict[str, str]) -> None:
    """A tag pasted right after creating the site is served; a new key, a changed origin
    and a deletion take effect on the next beacon too (no wait for the cache refresh)."""
    lcp = {"name": "LCP", "value": 1200.0, "delta": 1200.0, "id": "v5-1", "rating": "good"}
    body = json.dumps({"page": "https://shop.example.com/", "vw": 390, "events": [lcp]}).encode()

    async def send(key: str, origin: str = "https://shop.example.com") -> int:
        response = await client.post(
            f"/rum/v1/{key}", content=body, headers={"Origin": origin, "Content-Type": "text/plain"}
        )
        return response.status_code

    await send("unknownkey000000")  # a miss just before: the next one would be negative-cached
    site = (await client.post("/api/v1/sites", json=SHOP, headers=write)).json()
    assert await send(site["key"]) == 202

    rekeyed = await client.post(f"/api/v1/sites/{site['id']}/regenerate-key", headers=write)
    assert await send(site["key"]) == 404
    assert await send(rekeyed.json()["key"]) == 202

    moved = {"allowed_origins": ["https://new.example.com"]}
    assert (
        await client.patch(f"/api/v1/sites/{site['id']}", json=moved, headers=write)
    ).status_code == 200
    assert await send(rekeyed.json()["key"]) == 403
    assert await send(rekeyed.json()["key"], "https://new.example.com") == 202

    assert (await client.delete(f"/api/v1/sites/{site['id']}", headers=write)).status_code == 204
    assert await send(rekeyed.json()["key"], "https://new.example.com") == 404
