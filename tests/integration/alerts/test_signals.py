"""Each signal over seeded data, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.samples import Sample as PromSample
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.evaluator import read_signal
from app.alerts.signals import SignalContext, SignalError
from app.rum.aggregates import build_windows
from app.services.scrapes import Scrape, ScrapeStore
from tests.integration.alerts.engine_seed import (
    add_checks,
    add_service,
    add_site,
    add_task,
    add_vitals,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


async def read(
    sessions: Sessions, signal: str, params: dict[str, Any], **ctx: Any
) -> dict[str, float]:
    """``{labels joined: value}`` of the signal's series."""
    async with sessions() as session:
        samples = await read_signal(session, signal, params, SignalContext(now=NOW, **ctx))
    return {",".join(f"{k}={v}" for k, v in s.labels.items()): s.value for s in samples}


async def test_web_vital_p75_per_site_needs_minimum_samples(sessions: Sessions) -> None:
    shop, blog = await add_site(sessions, "Shop"), await add_site(sessions, "Blog")
    await add_vitals(sessions, shop, "LCP", [1000.0] * 25 + [5000.0] * 75, now=NOW)
    await add_vitals(sessions, blog, "LCP", [9000.0] * 10, now=NOW)
    series = await read(sessions, "web_vital_p75", {"metric": "LCP", "min_samples": 50})
    assert list(series) == ["site=Shop,metric=LCP"]
    assert series["site=Shop,metric=LCP"] == pytest.approx(5000, rel=0.05)
    # fewer samples needed: the blog shows up too
    series = await read(sessions, "web_vital_p75", {"metric": "LCP", "min_samples": 5})
    assert series["site=Blog,metric=LCP"] == pytest.approx(9000, rel=0.05)


async def test_web_vital_p75_of_one_page_and_window(sessions: Sessions) -> None:
    shop = await add_site(sessions, "Shop")
    await add_vitals(sessions, shop, "CLS", [0.05] * 60, now=NOW, page="/")
    await add_vitals(sessions, shop, "CLS", [0.4] * 60, now=NOW, page="/cart")
    await add_vitals(sessions, shop, "CLS", [0.9] * 500, now=NOW - timedelta(days=3), page="/cart")
    await build_windows(sessions, now=NOW)  # today's 7- and 30-day page windows
    params = {"metric": "CLS", "site_id": shop, "page": "/cart", "min_samples": 10}
    today = await read(sessions, "web_vital_p75", params)
    assert today == {"site=Shop,metric=CLS,page=/cart": pytest.approx(0.4, rel=0.05)}
    week = await read(sessions, "web_vital_p75", params | {"window_days": 7})
    assert week["site=Shop,metric=CLS,page=/cart"] == pytest.approx(0.9, rel=0.05)
    whole_site = await read(sessions, "web_vital_p75", {"metric": "CLS", "site_id": shop})
    assert whole_site["site=Shop,metric=CLS"] == pytest.approx(0.4, rel=0.05)


async def test_service_down_is_one_for_down_services_and_skips_paused_and_disabled(
    sessions: Sessions,
) -> None:
    await add_service(sessions, "api", state="up")
    db = await add_service(sessions, "db", state="down")
    await add_service(sessions, "old", state="paused")
    await add_service(sessions, "off", state="down", enabled=False)
    assert await read(sessions, "service_down", {}) == {"service=api": 0.0, "service=db": 1.0}
    assert await read(sessions, "service_down", {"service_id": db}) == {"service=db": 1.0}


async def test_service_latency_p95_over_the_window(sessions: Sessions) -> None:
    api = await add_service(sessions, "api")
    db = await add_service(sessions, "db")
    await add_checks(
        sessions, api, [float(ms) for ms in range(1, 101)], at=NOW - timedelta(minutes=1)
    )
    await add_checks(sessions, api, [5000.0] * 50, at=NOW - timedelta(hours=2))  # too old
    await add_checks(sessions, db, [10.0, 20.0], at=NOW - timedelta(minutes=1))  # too few
    series = await read(sessions, "service_latency_p95", {"window_seconds": 900})
    assert series == {"service=api": 95.0}
    day = await read(sessions, "service_latency_p95", {"window_seconds": 86_400, "min_samples": 2})
    assert day["service=api"] == 5000.0
    assert day["service=db"] == 20.0


async def test_task_failed_and_overdue(sessions: Sessions) -> None:
    api = await add_service(sessions, "api")
    await add_task(sessions, api, "backup", status="failed")
    await add_task(sessions, api, "report", status="up")
    await add_task(sessions, api, "late", status="overdue", overdue_at=NOW - timedelta(minutes=10))
    await add_task(sessions, api, "paused", status="paused")
    await add_task(
        sessions, None, "rum.build_windows", status="up", overdue_at=NOW - timedelta(seconds=30)
    )
    failed = await read(sessions, "task_failed", {})
    assert failed == {
        "service=api,task=backup": 1.0,
        "service=api,task=late": 0.0,
        "service=api,task=report": 0.0,
        "service=vigil,task=rum.build_windows": 0.0,
    }
    overdue = await read(sessions, "task_overdue", {"service_id": None})
    assert overdue["service=api,task=late"] == 600.0
    # its overdue_at passed before the tasks job marked it: already late
    assert overdue["service=vigil,task=rum.build_windows"] == 30.0
    assert overdue["service=api,task=report"] == 0.0
    only = await read(sessions, "task_overdue", {"service_id": api, "task": "late"})
    assert list(only) == ["service=api,task=late"]


def scrape(
    service_id: int, *samples: tuple[str, dict[str, str], float], error: str | None = None
) -> Scrape:
    return Scrape(
        service_id=service_id,
        scraped_at=NOW,
        samples=tuple(PromSample(name, labels, value) for name, labels, value in samples),
        series_dropped=0,
        error=error,
    )


async def test_scraped_metric_selects_and_aggregates(sessions: Sessions) -> None:
    api = await add_service(sessions, "api")
    store = ScrapeStore()
    store.put(
        scrape(
            api,
            ("http_requests_total", {"code": "200", "path": "/"}, 90.0),
            ("http_requests_total", {"code": "500", "path": "/"}, 6.0),
            ("http_requests_total", {"code": "503", "path": "/x"}, 4.0),
            ("queue_depth", {}, 7.0),
        )
    )
    selector = 'http_requests_total{code=~"5.."}'
    for how, expected in [("sum", 10.0), ("avg", 5.0), ("min", 4.0), ("max", 6.0), ("count", 2.0)]:
        params = {"service_id": api, "selector": selector, "aggregation": how}
        assert await read(sessions, "scraped_metric", params, scrapes=store) == {
            "service=api": expected
        }
    params = {"service_id": api, "selector": 'http_requests_total{code!="200",path="/"}'}
    assert await read(sessions, "scraped_metric", params, scrapes=store) == {"service=api": 6.0}
    nothing = {"service_id": api, "selector": "missing_metric"}
    assert await read(sessions, "scraped_metric", nothing, scrapes=store) == {}


async def test_scraped_metric_without_scrape_has_no_series_and_failed_scrape_is_an_error(
    sessions: Sessions,
) -> None:
    api = await add_service(sessions, "api")
    store = ScrapeStore()
    params = {"service_id": api, "selector": "up"}
    assert await read(sessions, "scraped_metric", params, scrapes=store) == {}
    store.put(scrape(api, error="connect: connection refused"))
    with pytest.raises(SignalError, match="last scrape of api failed: connect"):
        await read(sessions, "scraped_metric", params, scrapes=store)
