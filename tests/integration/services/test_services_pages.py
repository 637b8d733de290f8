"""The services pages: list figures from stored checks, the service page, and the admin forms
(viewers read only)."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.samples import Sample
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.services import check_hours
from app.services.models import Service, ServiceCheck, ServiceStateChange
from app.services.registry import ServiceFields, create_service, get_service, list_services
from app.services.scrapes import Scrape
from tests.integration.auth.helpers import (
    page_token,
)

NBSP = "\u00a0"
FORM = {
    "name": "Shop API",
    "base_url": "https://shop.internal:8443",
    "health_path": "/healthz",
    "expected_status": "200",
    "metrics_path": "/metrics",
    "interval_seconds": "30",
    "timeout_seconds": "2.5",
    "labels": "team=checkout\nenv = prod",
    "enabled": "on",
}


async def _service(sessions: async_sessionmaker[AsyncSession], name: str = "Shop API") -> Service:
    fields = ServiceFields(name=name, base_url="http://shop.internal", metrics_path="/metrics")
    return await create_service(sessions, fields, now=utcnow())


async def _seed_checks(sessions: async_sessionmaker[AsyncSession], service_id: int) -> None:
    """24 h: 20 checks, 1 failed without a response, latencies 10..190 ms (p95 = 190 ms);
    3 days ago 20 checks, 10 failed; 20 days ago 40 ok; 40 days ago 10 failed (too old)."""
    now = utcnow()
    rows: list[dict[str, Any]] = []

    def add(at: Any, ok: bool, latency: float | None) -> None:
        rows.append(
            {
                "service_id": service_id,
                "checked_at": at,
                "ok": ok,
                "status_code": 200 if ok else None,
                "latency_ms": latency,
                "error": None if ok else "connect",
            }
        )

    for i in range(1, 20):
        add(now - timedelta(minutes=i), True, 10.0 * i)
    add(now - timedelta(minutes=30), False, None)
    for i in range(20):
        add(now - timedelta(days=3, minutes=i), i >= 10, 5.0)
    for i in range(40):
        add(now - timedelta(days=20, minutes=i), True, 5.0)
    for i in range(10):
        add(now - timedelta(days=40, minutes=i), False, None)
    async with sessions.begin() as session:
        await session.execute(insert(ServiceCheck), rows)
        await check_hours.recount(session)


async def test_the_list_shows_uptime_and_p95_from_stored_checks(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shop = await _service(sessions)
    await _service(sessions, name="Billing")
    await _seed_checks(sessions, shop.id)

    page = await viewer.get("/services")

    assert page.status_code == 200
    text = page.text
    shop_row = text[text.index(">Shop API<") :]
    shop_row = shop_row[: shop_row.index("</tr>")]
    assert f"95.00{NBSP}%" in shop_row  # 24 h: 19 of 20
    assert f"72.50{NBSP}%" in shop_row  # 7 d: 29 of 40
    assert f"86.25{NBSP}%" in shop_row  # 30 d: 69 of 80 (the 40-day-old checks do not count)
    assert f"190{NBSP}ms" in shop_row
    assert "p95 of 19 responses" in shop_row  # the check without a response has no latency
    assert "Pending" in shop_row
    billing_row = text[text.index(">Billing<") :]
    billing_row = billing_row[: billing_row.index("</tr>")]
    assert "never" in billing_row
    assert "%" not in billing_row


async def test_a_viewer_sees_no_edit_controls_and_no_ping_token(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shop = await _service(sessions)

    listing = await viewer.get("/services")
    detail = await viewer.get(f"/services/{shop.id}")
    edit = await viewer.get(f"/services/{shop.id}/edit", follow_redirects=False)
    new = await viewer.get("/services/new", follow_redirects=False)

    assert listing.status_code == detail.status_code == 200
    for page in (listing, detail):
        assert "Add service" not in page.text
        assert "/edit" not in page.text
        assert 'method="post" action="/services' not in page.text
        assert shop.ping_token not in page.text
    assert (edit.status_code, new.status_code) == (403, 403)


async def test_a_viewer_cannot_post_the_forms(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shop = await _service(sessions)
    token = await page_token(viewer, "/services")

    created = await viewer.post("/services", data=FORM | {"name": "X", "_csrf_token": token})
    deleted = await viewer.post(f"/services/{shop.id}/delete", data={"_csrf_token": token})
    retokened = await viewer.post(
        f"/services/{shop.id}/regenerate-token", data={"_csrf_token": token}
    )

    assert (created.status_code, deleted.status_code, retokened.status_code) == (403, 403, 403)
    [row] = await list_services(sessions)
    assert row.ping_token == shop.ping_token


async def test_an_admin_adds_a_service_through_the_form(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    listing = await admin.get("/services")
    assert 'href="/services/new"' in listing.text
    token = await page_token(admin, "/services/new")

    created = await admin.post(
        "/services", data=FORM | {"_csrf_token": token}, follow_redirects=False
    )

    assert created.status_code == 303
    [service] = await list_services(sessions)
    assert created.headers["location"] == f"/services/{service.id}?created=1"
    assert (service.base_url, service.metrics_path) == ("https://shop.internal:8443", "/metrics")
    assert (service.interval_seconds, service.timeout_seconds) == (30, 2.5)
    assert service.labels == {"team": "checkout", "env": "prod"}
    assert service.enabled
    page = await admin.get(created.headers["location"])
    assert "Service registered" in page.text
    assert f"/ping/{service.ping_token}/" in page.text
    assert f'hx-get="/services/{service.id}/tasks" hx-trigger="load"' in page.text
    assert f'href="/services/{service.id}/edit"' in page.text


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"base_url": "ftp://shop.internal"}, "base_url", "must start with http:// or https://"),
        ({"base_url": "https://u:p@shop.internal"}, "base_url", "user name or password"),
        ({"health_path": "healthz"}, "health_path", "health path must start with /"),
        ({"expected_status": "700"}, "expected_status", "from 100 to 599"),
        ({"expected_status": "ok"}, "expected_status", "must be a whole number"),
        ({"interval_seconds": "5"}, "interval_seconds", "interval must be from 10"),
        ({"timeout_seconds": "30"}, "timeout_seconds", "must be shorter than the interval"),
        ({"timeout_seconds": "nan"}, "timeout_seconds", "timeout must be above 0"),
        ({"labels": "team"}, "labels", "must look like name=value"),
        ({"labels": "__x=1"}, "labels", "must not start with __"),
        ({"name": " "}, "name", "name must not be empty"),
    ],
)
async def test_bad_form_input_is_shown_at_the_field_and_saves_nothing(
    admin: Any,
    sessions: async_sessionmaker[AsyncSession],
    change: dict[str, str],
    field: str,
    reason: str,
) -> None:
    token = await page_token(admin, "/services/new")

    response = await admin.post("/services", data=FORM | change | {"_csrf_token": token})

    assert response.status_code == 400
    text = html.unescape(response.text)
    assert f'<p class="field-error" id="{field}-error"><strong>Error:</strong> ' in text
    assert reason in text
    assert f'aria-describedby="{field}-error"' in text
    if "name" not in change:
        assert 'value="Shop API"' in response.text  # what was typed is kept
    assert await list_services(sessions) == []


async def test_a_duplicate_name_in_the_form_is_an_inline_error(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _service(sessions, name="shop api")
    token = await page_token(admin, "/services/new")

    response = await admin.post("/services", data=FORM | {"_csrf_token": token})

    assert response.status_code == 400
    assert 'id="name-error"' in response.text
    assert "already exists" in response.text
    assert len(await list_services(sessions)) == 1


async def test_an_admin_edits_pauses_retokens_and_deletes_a_service(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shop = await _service(sessions)
    path = f"/services/{shop.id}"
    token = await page_token(admin, f"{path}/edit")

    saved = await admin.post(
        path,
        data={**FORM, "name": "Shop EU", "_csrf_token": token} | {"enabled": ""},
        follow_redirects=False,
    )
    bad = await admin.post(path, data={**FORM, "interval_seconds": "9", "_csrf_token": token})
    retokened = await admin.post(
        f"{path}/regenerate-token", data={"_csrf_token": token}, follow_redirects=False
    )
    after = await get_service(sessions, service_id=shop.id)

    assert saved.headers["location"] == f"{path}?saved=1"
    assert bad.status_code == 400
    assert "interval must be from 10" in bad.text
    assert retokened.headers["location"] == f"{path}?retokened=1"
    assert after is not None
    assert (after.name, after.enabled, after.state) == ("Shop EU", False, "paused")
    assert after.ping_token != shop.ping_token
    detail = await admin.get(path)
    assert "Paused" in detail.text
    assert "Pending → <strong>Paused</strong>" in html.unescape(detail.text)

    confirm = await admin.get(f"{path}/delete")
    assert confirm.status_code == 200
    assert "This cannot be undone" in confirm.text
    assert await get_service(sessions, service_id=shop.id) is not None  # asking deletes nothing
    deleted = await admin.post(
        f"{path}/delete", data={"_csrf_token": token}, follow_redirects=False
    )
    assert deleted.headers["location"] == "/services"
    assert await list_services(sessions) == []
    assert (await admin.get(path)).status_code == 404
    again = await admin.post(f"{path}/delete", data={"_csrf_token": token})
    assert again.status_code == 404


async def test_a_form_post_without_the_csrf_token_is_refused(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await admin.post("/services", data=FORM)

    assert response.status_code == 403
    assert await list_services(sessions) == []


async def test_a_service_name_with_markup_is_shown_escaped(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    service = await create_service(
        sessions,
        ServiceFields(name=payload, base_url="http://x.internal", labels={"team": payload}),
        now=utcnow(),
    )

    pages = [
        await admin.get("/services"),
        await admin.get(f"/services/{service.id}"),
        await admin.get(f"/services/{service.id}/edit"),
        await admin.get(f"/services/{service.id}/delete"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_the_service_page_shows_history_state_changes_and_the_range(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shop = await _service(sessions)
    await _seed_checks(sessions, shop.id)
    async with sessions.begin() as session:
        session.add(
            ServiceStateChange(
                service_id=shop.id,
                changed_at=utcnow() - timedelta(minutes=30),
                from_state="up",
                to_state="down",
                reason="3 failed checks: connect",
            )
        )

    day = await viewer.get(f"/services/{shop.id}")
    month = await viewer.get(f"/services/{shop.id}?range=30d")
    bad_range = await viewer.get(f"/services/{shop.id}?range=1y")

    assert day.status_code == month.status_code == 200
    assert "Average latency of 20 checks over the last 24 h" in day.text
    assert "1 failed check marked" in day.text
    assert day.text.count('class="svc-fail"') == 1
    assert "Average latency of 80 checks over the last 30 d" in month.text
    assert "11 failed checks marked" in month.text
    assert "Up → <strong>Down</strong>" in html.unescape(day.text)
    assert "3 failed checks: connect" in day.text
    assert day.text.count("<td><code>connect</code>") == 1  # the failed check in the table
    assert bad_range.status_code == 400
    assert (await viewer.get("/services/999")).status_code == 404


async def test_scraped_metrics_are_filtered_by_name_on_the_server(
    viewer: Any, app: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shop = await _service(sessions)
    samples = tuple(
        [Sample("http_requests_total", {"code": str(c)}, float(c), None, None) for c in (200, 500)]
        + [Sample(f"process_metric_{i:03d}", {}, 1.5, None, None) for i in range(300)]
    )
    app.state.scrapes.put(
        Scrape(
            service_id=shop.id,
            scraped_at=utcnow(),
            samples=samples,
            series_dropped=7,
            error=None,
        )
    )

    everything = await viewer.get(f"/services/{shop.id}")
    filtered = await viewer.get(f"/services/{shop.id}/metrics", params={"q": "HTTP_req"})
    nothing = await viewer.get(f"/services/{shop.id}/metrics", params={"q": "<b>nope"})
    too_long = await viewer.get(f"/services/{shop.id}/metrics", params={"q": "x" * 201})

    assert "302 samples" in everything.text
    assert "the first 200 are shown" in everything.text
    assert everything.text.count("<tr><td><code>") == 200
    assert "7 series over the per-service limit" in everything.text
    assert filtered.status_code == 200
    assert "<html" not in filtered.text  # a fragment for htmx
    assert "2 of 302 samples match" in filtered.text
    assert filtered.text.count("<tr><td><code>") == 2
    assert "code=&#34;500&#34;" in filtered.text or "code=&quot;500&quot;" in filtered.text
    assert "process_metric" not in filtered.text
    assert "No metric matches" in nothing.text
    assert "<b>nope" not in nothing.text
    assert too_long.status_code == 400
