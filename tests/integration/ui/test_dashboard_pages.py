"""The overview's panels and the "HTTP & SSE" page, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.models import AlertSeries
from app.config import AlertsSettings
from app.db.base import utcnow
from tests.conftest import make_settings
from tests.integration.alerts.engine_seed import add_rule, add_service, add_task
from tests.integration.auth.helpers import ADMIN_EMAIL, VIEWER_EMAIL, login, make_user
from tests.support.server import free_port

Sessions = async_sessionmaker[AsyncSession]
FORMS = re.compile(r"<form[^>]*>", re.IGNORECASE)


def unsafe_forms(html: str) -> list[str]:
    """Forms that change something (the logout form aside)."""
    return [
        form
        for form in FORMS.findall(html)
        if 'method="post"' in form.lower() and 'action="/logout"' not in form
    ]


async def _fire(sessions: Sessions, rule_id: int, state: str, labels: dict[str, str]) -> None:
    now = utcnow()
    async with sessions.begin() as session:
        session.add(
            AlertSeries(
                rule_id=rule_id,
                fingerprint=f"{state}-{sorted(labels.items())}"[:32],
                labels=labels,
                state=state,
                value=1.0,
                active_since=now - timedelta(minutes=12),
                firing_since=now - timedelta(minutes=7) if state == "firing" else None,
            )
        )


async def test_the_overview_shows_what_is_broken(client: Any, sessions: Sessions) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    shop = await add_service(sessions, "shop", state="down")
    await add_service(sessions, "blog", state="up")
    await add_service(sessions, "wiki", state="paused")
    await add_task(sessions, shop, "nightly-backup", status="failed")
    await add_task(sessions, shop, "invoice-export", status="overdue")
    await add_task(sessions, None, "retention", status="up")
    rule = await add_rule(sessions, name="Shop down", signal="service_down", severity="critical")
    await _fire(sessions, rule, "firing", {"service": "shop"})
    await _fire(sessions, rule, "pending", {"service": "blog"})
    await login(client, email=VIEWER_EMAIL)

    text = (await client.get("/")).text

    assert "1 firing" in text
    assert "1 pending" in text
    assert f'href="/alerts/rules/{rule}">Shop down</a>' in text
    assert f'<a href="/services/{shop}">shop</a>' in text  # listed as down
    assert "No service is down" not in text
    assert "1 failed" in text
    assert "1 overdue" in text
    assert "of 3 tasks and jobs" in text
    assert "nightly-backup" in text
    assert "invoice-export" in text
    assert "retention" not in text  # a healthy job is counted, not listed
    assert 'sse-connect="/ui/events"' in text
    for event in ("alerts", "services", "tasks", "self-health"):
        assert f'sse-swap="{event}"' in text
    assert unsafe_forms(text) == []


async def test_an_empty_overview_says_what_would_be_there(client: Any, sessions: Sessions) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    await login(client, email=VIEWER_EMAIL)

    text = (await client.get("/")).text

    for empty in ("No alerts firing", "No services registered", "No task runs reported"):
        assert empty in text
    assert "Collecting" in text or "req/s" in text


async def test_http_page_lists_routes_from_vigils_own_counters(
    app: Any, client: Any, sessions: Sessions
) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    await login(client, email=VIEWER_EMAIL)
    hub = app.state.live
    hub.sample()
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    await client.get("/no/such/page")
    hub.sample()

    text = (await client.get("/http?range=1m")).text

    assert "<code>/healthz</code>" in text
    assert "<code>(unmatched)</code>" in text  # a 404 path is never shown raw
    assert "/no/such/page" not in text
    assert 'aria-current="true">1 min</a>' in text
    assert "<svg" in text
    assert "Show the charts&#39; data as a table" in text
    assert "Registered services" not in text  # no Prometheus configured: hidden


async def test_http_page_refuses_an_unknown_range(client: Any, sessions: Sessions) -> None:
    await make_user(sessions, email=VIEWER_EMAIL)
    await login(client, email=VIEWER_EMAIL)

    response = await client.get("/http?range=2d")

    assert response.status_code == 400
    assert "range" in response.text


async def test_http_page_explains_an_unreachable_prometheus(
    db_url: str, sessions: Sessions
) -> None:
    from litestar.testing import AsyncTestClient

    from app.main import create_app

    closed = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(db_url, alerts=AlertsSettings(prometheus_url=closed))
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    async with AsyncTestClient(app=create_app(settings)) as client:
        await login(client, email=ADMIN_EMAIL)
        response = await client.get("/http")

    assert response.status_code == 200
    assert "Registered services" in response.text
    assert "Could not read the services&#39; figures" in response.text
    assert "unreachable" in response.text


async def test_anonymous_visitors_get_no_live_stream(client: Any) -> None:
    response = await client.get("/ui/events", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
