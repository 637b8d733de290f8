"""/vitals: p75 cards with ratings in words, the rating split, the daily trend, the pages table."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.rum.aggregates import write_deltas
from app.rum.deltas import VitalsDelta
from app.rum.models import Site
from app.rum.sites import create_site
from tests.integration.auth.helpers import ADMIN_EMAIL, login, make_user


def delta(
    site: Site,
    *,
    page: str,
    metric: str,
    values: list[float],
    days_ago: int = 0,
    device: str = "desktop",
) -> VitalsDelta:
    d = VitalsDelta.empty(
        site_id=site.id,
        day=utcnow().date() - timedelta(days=days_ago),
        page=page,
        device=device,
        metric=metric,
    )
    for value in values:
        d.count(value)
    return d


def as_ms(cell: str) -> float:
    """``950 ms`` or ``1.02 s`` in milliseconds."""
    number, unit = cell.split()
    return float(number) * (1000 if unit == "s" else 1)


def p75_cell(text: str, metric: str) -> str:
    match = re.search(rf'data-testid="p75-{metric}">([^<]+)<', text)
    assert match, f"no p75 cell for {metric}"
    return html.unescape(match.group(1))


async def test_without_sites_the_page_explains_what_a_site_is(viewer: Any) -> None:
    text = (await viewer.get("/vitals")).text

    assert "No sites yet" in text
    assert "Ask an admin to create a site" in text


async def test_a_site_without_data_shows_how_to_install_the_beacon(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site = await create_site(sessions, name="Shop", allowed_origins=["https://shop.example"])

    text = html.unescape((await viewer.get("/vitals")).text)

    assert "No Web Vitals for Shop yet" in text
    assert f'data-site="{site.key}"' in text
    assert "/static/vigil-rum.js" in text
    assert "https://shop.example" in text


async def test_p75_ratings_split_trend_and_pages_are_shown(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site = await create_site(sessions, name="Shop", allowed_origins=["https://shop.example"])
    now = utcnow()
    await write_deltas(
        sessions,
        [
            delta(site, page="/", metric="LCP", values=[1200, 1500, 1800, 2100]),
            delta(site, page="/", metric="CLS", values=[0.02, 0.05, 0.3, 0.3]),
            delta(site, page="/", metric="INP", values=[80, 120]),
            delta(site, page="/products/:id", metric="LCP", values=[4800] * 6),
            delta(site, page="/", metric="TTFB", values=[300] * 3, days_ago=2),
            delta(site, page="/", metric="LCP", values=[900] * 2, device="mobile"),
        ],
        now=now,
    )

    response = await viewer.get(f"/vitals?site={site.id}&range=7&device=all")
    text = response.text

    assert response.status_code == 200
    assert 'href="/vitals" aria-current="page"' in text
    # LCP: 12 samples (4 + 6 desktop, 2 mobile); p75 falls in the 4.8 s bucket: poor
    assert 4500 <= as_ms(p75_cell(text, "LCP")) <= 5100
    assert (
        'rating rating-poor"><span class="rating-symbol" aria-hidden="true">✕</span> Poor' in text
    )
    assert 0.28 <= float(p75_cell(text, "CLS")) <= 0.32
    assert p75_cell(text, "FCP") == "\u2013"
    assert "No samples" in text
    assert "50 % good, 0 % needs improvement, 50 % poor" in text  # CLS split, in words
    assert "Daily p75" in text
    assert "<polyline" in text
    assert "<code>/products/:id</code>" in text
    assert "<code>/</code>" in text
    # most viewed first: /products/:id has 6 views, / has 6 (LCP 4 + 2 mobile) -> tie by path
    assert text.index("<code>/</code>") < text.index("<code>/products/:id</code>")

    by_lcp = (await viewer.get(f"/vitals?site={site.id}&range=7&sort=LCP")).text
    assert by_lcp.index("<code>/products/:id</code>") < by_lcp.index("<code>/</code>")
    assert 'aria-sort="descending"' in by_lcp

    mobile = (await viewer.get(f"/vitals?site={site.id}&range=7&device=mobile")).text
    assert 850 <= as_ms(p75_cell(mobile, "LCP")) <= 950
    assert "Good" in mobile


async def test_today_only_has_no_trend_chart(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site = await create_site(sessions, name="Shop")
    await write_deltas(sessions, [delta(site, page="/", metric="LCP", values=[1000])], now=utcnow())

    text = (await viewer.get(f"/vitals?site={site.id}&range=1")).text

    assert "Choose 7 d or 30 d for the daily trend" in text
    assert "<polyline" not in text
    assert 950 <= as_ms(p75_cell(text, "LCP")) <= 1050


@pytest.mark.parametrize("query", ["range=2", "device=watch", "sort=colour", "site=abc"])
async def test_bad_filters_are_refused_with_400(viewer: Any, query: str) -> None:
    response = await viewer.get(f"/vitals?{query}")

    assert response.status_code == 400


async def test_an_unknown_site_is_404(viewer: Any) -> None:
    assert (await viewer.get("/vitals?site=999")).status_code == 404


async def test_admins_get_a_link_to_manage_sites(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)

    text = (await client.get("/vitals")).text

    assert "Manage sites" in text
    assert "Create a site" in text


async def test_overview_shows_each_sites_core_vitals_of_the_last_24_hours(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shop = await create_site(sessions, name="Shop", allowed_origins=["https://shop.example"])
    await create_site(sessions, name="Blog", allowed_origins=["https://blog.example"])
    await write_deltas(
        sessions,
        [
            delta(shop, page="/", metric="LCP", values=[4800] * 4),
            delta(shop, page="/", metric="CLS", values=[0.01] * 4),
            delta(shop, page="/", metric="LCP", values=[900] * 9, days_ago=3),  # not in 24 h
        ],
        now=utcnow(),
    )

    text = html.unescape((await viewer.get("/")).text)

    assert "No sites yet" not in text
    shop_row = text[text.index(">Shop</a>") :].split("</tr>")[0]
    assert "Poor" in shop_row  # LCP p75 4.8 s over the last 24 h, in words
    assert "Good" in shop_row  # CLS 0.01
    assert "no samples" in shop_row  # INP
    blog_row = text[text.index(">Blog</a>") :].split("</tr>")[0]
    assert blog_row.count("no samples") == 3
