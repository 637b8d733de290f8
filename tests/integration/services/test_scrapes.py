"""Scrapes of a real local service's /metrics: bounds, overflow, and every failure as a value."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import ServicesSettings
from app.db.base import utcnow
from app.services.checks import CheckTarget, make_client
from app.services.scraper import scrape
from app.services.scrapes import ScrapeStore
from app.telemetry import VigilMetrics
from tests.integration.services.target_service import TargetService, running_target
from tests.integration.services.test_checks import add_service, check_now
from tests.support.server import free_port


def _target(url: str, *, timeout: float = 2.0) -> CheckTarget:
    return CheckTarget(
        service_id=7,
        name="shop",
        health_url=f"{url}/healthz",
        metrics_url=f"{url}/metrics",
        expected_status=200,
        timeout_seconds=timeout,
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(allow_link_local=False, user_agent="test") as http:
        yield http


async def test_samples_are_kept_with_their_labels(client: httpx.AsyncClient) -> None:
    async with running_target() as service:
        now = utcnow()
        result = await scrape(
            client, _target(service.url), now=now, max_series=100, max_bytes=10_000
        )
    assert result.error is None
    assert result.service_id == 7
    assert result.scraped_at == now
    assert [(s.name, s.labels, s.value) for s in result.samples] == [
        ("shop_orders_total", {"region": "eu"}, 12.0),
        ("shop_orders_total", {"region": "us"}, 30.0),
        ("shop_queue_depth", {}, 4.0),
    ]
    assert result.series_dropped == 0


async def test_series_over_the_bound_are_dropped_and_counted(client: httpx.AsyncClient) -> None:
    many = "".join(f'queue_depth{{queue="q{i}"}} {i}\n' for i in range(2500))
    async with running_target(TargetService(metrics_text=many)) as service:
        result = await scrape(
            client, _target(service.url), now=utcnow(), max_series=1000, max_bytes=1_000_000
        )
    assert result.error is None
    assert len(result.samples) == 1000
    assert result.series_dropped == 1500


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (TargetService(metrics_text="orders_total{region=eu} 1\n"), "malformed metrics text"),
        (TargetService(metrics_text="orders_total one\n"), "malformed metrics text"),
        (TargetService(metrics_status=404), "status: expected HTTP 200, got 404"),
        (TargetService(metrics_text="x 1\n" * 5000), "too large: over 10000 bytes"),
    ],
    ids=["bad-labels", "bad-value", "not-found", "too-large"],
)
async def test_bad_answers_are_scrapes_with_an_error(
    client: httpx.AsyncClient, service: TargetService, expected: str
) -> None:
    async with running_target(service):
        result = await scrape(
            client, _target(service.url), now=utcnow(), max_series=100, max_bytes=10_000
        )
    assert result.error is not None
    assert result.error.startswith(expected)
    assert result.samples == ()


async def test_unreachable_and_slow_metrics_are_scrapes_with_an_error(
    client: httpx.AsyncClient,
) -> None:
    closed = await scrape(
        client,
        _target(f"http://127.0.0.1:{free_port()}"),
        now=utcnow(),
        max_series=10,
        max_bytes=1000,
    )
    assert closed.error is not None
    assert closed.error.startswith("connect: ")
    refused = await scrape(
        client, _target("http://169.254.169.254"), now=utcnow(), max_series=10, max_bytes=1000
    )
    assert refused.error is not None
    assert refused.error.startswith("refused_address: ")


async def test_slow_metrics_are_a_timed_out_scrape(client: httpx.AsyncClient) -> None:
    async with running_target(TargetService(metrics_delay=1.0)) as service:
        result = await scrape(
            client, _target(service.url, timeout=0.3), now=utcnow(), max_series=10, max_bytes=1000
        )
    assert result.error == "timeout: no answer within 0.3 s"
    assert result.samples == ()


async def test_dropped_series_are_counted_per_service(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    registry = CollectorRegistry()
    store = ScrapeStore()
    many = "".join(f'queue_depth{{queue="q{i}"}} {i}\n' for i in range(30))
    async with running_target(TargetService(metrics_text=many)) as service:
        service_id = await add_service(sessions, base_url=service.url, metrics_path="/metrics")
        await check_now(
            sessions,
            store,
            settings=ServicesSettings(max_series_per_service=10),
            metrics=VigilMetrics(registry),
        )
    scraped = store.latest(service_id)
    assert scraped is not None
    assert (len(scraped.samples), scraped.series_dropped) == (10, 20)
    assert (
        registry.get_sample_value("vigil_service_scrape_series_dropped_total", {"service": "shop"})
        == 20
    )


def test_store_keeps_the_latest_scrape_per_service() -> None:
    from app.services.scrapes import Scrape

    store = ScrapeStore()
    first = Scrape(1, utcnow(), (), 0, "status: expected HTTP 200, got 500")
    second = Scrape(1, utcnow(), (), 0, None)
    store.put(first)
    store.put(second)
    store.put(Scrape(2, utcnow(), (), 0, None))
    assert store.latest(1) is second
    store.forget(1)
    store.forget(99)
    assert store.latest(1) is None
    assert store.latest(2) is not None
