"""The sites pages: admins create, edit, re-key and delete; viewers read the tag only."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.rum.sites import create_site, get_site, list_sites
from tests.integration.auth.helpers import (
    VIEWER_EMAIL,
    login,
    make_user,
    page_token,
)

FORM = {
    "name": "Shop",
    "allowed_origins": "https://shop.example.com\nhttp://localhost:3000",
    "sample_rate": "0.5",
    "page_cap": "300",
}


async def test_an_admin_creates_a_site_and_sees_the_tag_to_paste(
    admin: Any, sessions: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    token = await page_token(admin, "/vitals/sites")

    created = await admin.post(
        "/vitals/sites", data=FORM | {"_csrf_token": token}, follow_redirects=False
    )

    assert created.status_code == 303
    [site] = await list_sites(sessions)
    assert created.headers["location"] == f"/vitals/sites/{site.id}?created=1"
    assert site.allowed_origins == ["https://shop.example.com", "http://localhost:3000"]
    assert (site.sample_rate, site.page_cap) == (0.5, 300)
    page = await admin.get(created.headers["location"])
    public_url = settings.server.public_url
    tag = (
        f'<script src="{public_url}/static/vigil-rum.js" data-site="{site.key}" '
        f'data-endpoint="{public_url}/rum/v1/{site.key}" data-sample="0.5" defer></script>'
    )
    assert tag in html.unescape(page.text)
    assert f'<script src="{public_url}' not in page.text  # shown escaped, never run
    assert "Site created" in page.text
    assert "Save changes" in page.text


async def test_bad_form_input_is_shown_with_the_reason_and_saves_nothing(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await page_token(admin, "/vitals/sites")

    response = await admin.post(
        "/vitals/sites",
        data=FORM | {"allowed_origins": "https://shop.example.com/app", "_csrf_token": token},
    )

    assert response.status_code == 400
    assert "must not have a path" in response.text
    assert 'value="Shop"' in response.text  # what was typed is kept
    assert await list_sites(sessions) == []


async def test_a_duplicate_name_in_the_form_is_refused(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_site(sessions, name="Shop")
    token = await page_token(admin, "/vitals/sites")

    response = await admin.post("/vitals/sites", data=FORM | {"_csrf_token": token})

    assert response.status_code == 400
    assert "already exists" in response.text
    assert len(await list_sites(sessions)) == 1


async def test_an_admin_edits_rekeys_and_deletes_a_site(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site = await create_site(sessions, name="Shop", allowed_origins=["https://a.example"])
    path = f"/vitals/sites/{site.id}"
    token = await page_token(admin, path)

    saved = await admin.post(
        path,
        data={**FORM, "name": "Shop EU", "sample_rate": "1", "_csrf_token": token},
        follow_redirects=False,
    )
    bad = await admin.post(path, data={**FORM, "sample_rate": "2", "_csrf_token": token})
    rekeyed = await admin.post(
        f"{path}/regenerate-key", data={"_csrf_token": token}, follow_redirects=False
    )
    after = await get_site(sessions, site_id=site.id)

    assert saved.status_code == 303
    assert bad.status_code == 400
    assert "sample rate must be above 0 and at most 1" in bad.text
    assert rekeyed.headers["location"] == f"{path}?rekeyed=1"
    assert after is not None
    assert after.name == "Shop EU"
    assert after.sample_rate == 1.0
    assert after.key != site.key

    deleted = await admin.post(
        f"{path}/delete", data={"_csrf_token": token}, follow_redirects=False
    )
    assert deleted.headers["location"] == "/vitals/sites"
    assert await list_sites(sessions) == []
    assert (await admin.get(path)).status_code == 404


async def test_forms_without_a_csrf_token_are_refused(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await admin.post("/vitals/sites", data=FORM)

    assert response.status_code == 403
    assert await list_sites(sessions) == []


async def test_a_viewer_sees_sites_and_tags_but_no_edit_controls(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site = await create_site(sessions, name="Shop", allowed_origins=["https://a.example"])
    await make_user(sessions, email=VIEWER_EMAIL)
    await login(client, email=VIEWER_EMAIL)

    listing = await client.get("/vitals/sites")
    detail = await client.get(f"/vitals/sites/{site.id}")
    token = await page_token(client, "/vitals/sites")
    refused = await client.post(
        f"/vitals/sites/{site.id}/delete", data={"_csrf_token": token}, follow_redirects=False
    )

    assert listing.status_code == 200
    assert "Shop" in listing.text
    assert detail.status_code == 200
    assert site.key in detail.text
    for text in (listing.text, detail.text):
        assert '<form method="post" action="/vitals/sites' not in text
        assert "Create site" not in text
        assert "Save changes" not in text
        assert "Generate a new key" not in text
    assert refused.status_code == 403
    assert len(await list_sites(sessions)) == 1


async def test_anonymous_visitors_are_sent_to_the_login_page(client: Any) -> None:
    response = await client.get("/vitals/sites", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
