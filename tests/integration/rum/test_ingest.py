"""POST /rum/v1/{site_key}: accepted beacons reach the aggregate tables; bad ones change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import RumSettings, Settings
from app.main import create_app
from app.rum.deltas import OTHER_PAGE
from app.rum.ingest import RumIngest
from app.rum.models import Site, VitalsDaily
from app.rum.ratelimit import SiteRateLimiter
from tests.conftest import make_settings
from tests.support.server import free_port

KEY = "k" * 16
ORIGIN = "https://shop.example.com"
URL = f"/rum/v1/{KEY}"
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
HEADERS = {"Origin": ORIGIN, "Content-Type": "text/plain;charset=UTF-8", "User-Agent": BROWSER}
LCP = {
    "name": "LCP",
    "value": 2312.5,
    "delta": 2312.5,
    "id": "v5-1700000000000-8123456789012",
    "rating": "poor",  # wrong on purpose: the server rates it (good)
    "navigationType": "navigate",
    "timestamp": 1700000001234,
}
CLS = {"name": "CLS", "value": 0.3, "delta": 0.3, "id": "v5-2", "rating": "good"}


def beacon(**top: Any) -> bytes:
    body: dict[str, Any] = {"page": "https://shop.example.com/orders/42?x=1", "vw": 390}
    body["events"] = [LCP, CLS]
    body.update(top)
    return json.dumps(body).encode()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url, rum=RumSettings(max_body_bytes=4096))


@pytest.fixture
async def site(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        row = Site(name="Shop", key=KEY, allowed_origins=[ORIGIN], page_cap=3)
        session.add(row)
    return row.id


@pytest.fixture
async def client(site: int, app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
def rum(app: Litestar) -> RumIngest:
    ingest: RumIngest = app.state.rum
    return ingest


async def stored(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """(rows, events) in the daily aggregate table."""
    async with sessions() as session:
        rows, events = (
            await session.execute(select(func.count(), func.coalesce(func.sum(VitalsDaily.n), 0)))
        ).one()
    return int(rows), int(events)


def flush(client: Any, rum: RumIngest) -> int:
    """Flush on the app's own event loop (the test client serves it from another thread)."""
    written: int = client.blocking_portal.call(rum.flush)
    return written


def events_counted(app: Litestar, outcome: str, metric: str = "unknown") -> float:
    value = app.state.telemetry.metrics.registry.get_sample_value(
        "vigil_rum_events_total",
        {
            "site": KEY if outcome != "unknown_site" else "unknown",
            "metric": metric,
            "outcome": outcome,
        },
    )
    return float(value or 0)


async def test_accepted_beacon_is_stored_with_server_side_ratings(
    client: Any, rum: RumIngest, sessions: async_sessionmaker[AsyncSession], app: Litestar
) -> None:
    response = await client.post(URL, content=beacon(), headers=HEADERS)
    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in response.headers["vary"]
    assert flush(client, rum) == 2
    async with sessions() as session:
        rows = (await session.execute(select(VitalsDaily))).scalars().all()
    by_metric = {row.metric: row for row in rows}
    assert set(by_metric) == {"LCP", "CLS"}
    lcp = by_metric["LCP"]
    assert (lcp.page, lcp.device, lcp.n, lcp.good, lcp.poor) == ("/orders/:id", "mobile", 1, 1, 0)
    assert by_metric["CLS"].poor == 1
    assert events_counted(app, "accepted", "LCP") == 1


async def test_json_content_type_is_accepted_too(
    client: Any, rum: RumIngest, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = HEADERS | {"Content-Type": "application/json"}
    response = await client.post(URL, content=beacon(vw=None), headers=headers)
    assert response.status_code == 202
    flush(client, rum)
    async with sessions() as session:
        devices = set((await session.execute(select(VitalsDaily.device))).scalars())
    assert devices == {"unknown"}


REJECTED = [
    pytest.param(beacon(extra=1), {}, 400, "unknown field `extra`", id="unknown-field"),
    pytest.param(
        beacon(events=[{"value": 1.0}]), {}, 400, "missing required field `name`", id="no-name"
    ),
    pytest.param(
        beacon(events=[LCP | {"value": "12"}]), {}, 400, "$.events[0].value", id="wrong-type"
    ),
    pytest.param(
        b'{"page":"/","events":[{"name":"LCP","value":NaN}]}', {}, 400, "malformed", id="nan"
    ),
    pytest.param(beacon(events=[LCP | {"value": -1}]), {}, 400, "$.events[0].value", id="neg"),
    pytest.param(
        beacon(events=[LCP, CLS | {"value": 1e9}]), {}, 400, "$.events[1].value", id="absurd"
    ),
    pytest.param(b"not json", {}, 400, "malformed", id="not-json"),
    pytest.param(b"x" * 5000, {}, 413, "4096", id="too-large"),
    pytest.param(beacon(), {"Content-Type": "text/html"}, 415, "text/plain", id="media-type"),
    pytest.param(beacon(), {"Origin": "https://evil.example"}, 403, "origin", id="origin"),
    pytest.param(beacon(), {"Origin": None}, 403, "origin", id="no-origin"),
]


@pytest.mark.parametrize(("body", "headers", "status", "detail"), REJECTED)
async def test_bad_beacons_get_a_4xx_and_change_nothing(
    client: Any,
    rum: RumIngest,
    sessions: async_sessionmaker[AsyncSession],
    body: bytes,
    headers: dict[str, str | None],
    status: int,
    detail: str,
) -> None:
    sent = {k: v for k, v in (HEADERS | headers).items() if v is not None}
    response = await client.post(URL, content=body, headers=sent)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    assert rum.accumulator.pending_events == 0
    flush(client, rum)
    assert await stored(sessions) == (0, 0)


async def test_unknown_site_key_is_404_and_counted_without_its_key(
    client: Any, app: Litestar, rum: RumIngest
) -> None:
    response = await client.post("/rum/v1/nosuchkey", content=beacon(), headers=HEADERS)
    assert response.status_code == 404
    assert events_counted(app, "unknown_site") == 1
    assert rum.accumulator.pending_events == 0


async def test_rate_limited_site_gets_429_with_retry_after(
    client: Any, rum: RumIngest, app: Litestar
) -> None:
    rum.limiter = SiteRateLimiter(rate=0.5, burst=2)
    statuses = [(await client.post(URL, content=beacon(), headers=HEADERS)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [202, 202, 429]
    assert statuses[2].headers["retry-after"] == "2"
    assert rum.accumulator.pending_events == 4
    assert events_counted(app, "rate_limited") == 1


async def test_crawler_gets_202_and_nothing_is_stored(
    client: Any, rum: RumIngest, sessions: async_sessionmaker[AsyncSession], app: Litestar
) -> None:
    ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    response = await client.post(URL, content=beacon(), headers=HEADERS | {"User-Agent": ua})
    assert response.status_code == 202
    flush(client, rum)
    assert await stored(sessions) == (0, 0)
    assert events_counted(app, "bot") == 1


async def test_preflight_from_an_allowed_origin_allows_json_posts(client: Any) -> None:
    response = await client.options(
        URL,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-methods"] == "POST"
    assert response.headers["access-control-allow-headers"].lower() == "content-type"


async def test_preflight_from_another_origin_is_403(client: Any) -> None:
    response = await client.options(
        URL, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


async def test_other_methods_are_405(client: Any) -> None:
    response = await client.get(URL, headers={"Origin": ORIGIN})
    assert response.status_code == 405


async def test_ingest_never_sets_a_cookie(client: Any) -> None:
    client.cookies.set("vigil_session", "abc")
    for headers in (HEADERS, HEADERS | {"Origin": "https://evil.example"}):
        response = await client.post(URL, content=beacon(), headers=headers)
        assert "set-cookie" not in response.headers
    preflight = await client.options(URL, headers={"Origin": ORIGIN})
    assert "set-cookie" not in preflight.headers


async def test_pages_beyond_the_site_cap_count_as_other(
    client: Any, rum: RumIngest, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for page in ("/a", "/b", "/c", "/d", "/e", "/a"):
        response = await client.post(URL, content=beacon(page=page, events=[LCP]), headers=HEADERS)
        assert response.status_code == 202
    flush(client, rum)
    async with sessions() as session:
        rows = (await session.execute(select(VitalsDaily.page, VitalsDaily.n))).all()
    assert sorted(rows) == sorted([("/a", 2), ("/b", 1), ("/c", 1), (OTHER_PAGE, 2)])


async def test_a_flush_that_fails_keeps_the_events_for_the_next_one(
    client: Any, rum: RumIngest, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.post(URL, content=beacon(), headers=HEADERS)).status_code == 202
    real_sessions = rum.sessions

    def broken() -> Any:
        raise ConnectionError("database down")

    rum.sessions = broken  # type: ignore[assignment]
    assert flush(client, rum) == 0
    assert rum.accumulator.pending_events == 2
    rum.sessions = real_sessions
    assert flush(client, rum) == 2
    assert await stored(sessions) == (2, 2)


# The route is served in front of the router (IngestFastPath).


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
