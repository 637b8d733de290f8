"""Health checks against a real local HTTP service, stored in the real databases.

The service goes up and down and the state machine follows it; every kind of failure
(timeout, refused connection, wrong status, refused address, unresolvable name) is a stored
check row, and no failure stops the job.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import ServicesSettings
from app.db.base import utcnow
from app.services.jobs import claim_due, run_due_checks
from app.services.models import Service, ServiceCheck, ServiceStateChange
from app.services.scrapes import ScrapeStore
from app.services.transitions import pause, resume
from app.telemetry import VigilMetrics
from tests.integration.services.target_service import TargetService, running_target
from tests.support.server import free_port

SETTINGS = ServicesSettings()


async def add_service(
    sessions: async_sessionmaker[AsyncSession], *, name: str = "shop", **fields: Any
) -> int:
    now = utcnow()
    values: dict[str, Any] = {
        "name": name,
        "base_url": "http://127.0.0.1:1",
        "health_path": "/healthz",
        "ping_token": f"token-{name}",
        "timeout_seconds": 2.0,
        "next_check_at": now,
        "state_changed_at": now,
    }
    async with sessions.begin() as session:
        service = Service(**(values | fields))
        session.add(service)
        await session.flush()
        return service.id


async def make_due(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Pretend the interval has passed for every service."""
    async with sessions.begin() as session:
        await session.execute(update(Service).values(next_check_at=utcnow() - timedelta(seconds=1)))


async def checks_of(sessions: async_sessionmaker[AsyncSession], service_id: int) -> list[Any]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(ServiceCheck)
                .where(ServiceCheck.service_id == service_id)
                .order_by(ServiceCheck.id)
            )
        )


async def changes_of(sessions: async_sessionmaker[AsyncSession], service_id: int) -> list[Any]:
    async with sessions() as session:
        rows = await session.scalars(
            select(ServiceStateChange)
            .where(ServiceStateChange.service_id == service_id)
            .order_by(ServiceStateChange.id)
        )
        return [(c.from_state, c.to_state, c.reason) for c in rows]


async def service(sessions: async_sessionmaker[AsyncSession], service_id: int) -> Service:
    async with sessions() as session:
        found = await session.get(Service, service_id)
        assert found is not None
        return found


async def check_now(
    sessions: async_sessionmaker[AsyncSession],
    store: ScrapeStore | None = None,
    *,
    settings: ServicesSettings = SETTINGS,
    metrics: VigilMetrics | None = None,
) -> int:
    await make_due(sessions)
    return await run_due_checks(
        sessions, settings=settings, scrapes=store or ScrapeStore(), metrics=metrics
    )


async def test_state_follows_a_service_going_up_down_and_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with running_target() as target:
        service_id = await add_service(sessions, base_url=target.url)
        assert await check_now(sessions) == 1
        assert (await service(sessions, service_id)).state == "up"

        target.health_status = 503
        for expected in ("up", "up", "down", "down"):
            await check_now(sessions)
            assert (await service(sessions, service_id)).state == expected

        target.health_status = 200
        await check_now(sessions)
        assert (await service(sessions, service_id)).state == "up"

    checks = await checks_of(sessions, service_id)
    assert [c.ok for c in checks] == [True, False, False, False, False, True]
    assert [c.status_code for c in checks] == [200, 503, 503, 503, 503, 200]
    assert {c.error for c in checks if not c.ok} == {"status"}
    assert checks[1].detail == "expected HTTP 200, got 503"
    assert all(c.latency_ms is not None and c.latency_ms > 0 for c in checks)
    assert await changes_of(sessions, service_id) == [
        ("pending", "up", "1 successful check in a row"),
        ("up", "down", "3 failed checks in a row: expected HTTP 200, got 503"),
        ("down", "up", "1 successful check in a row"),
    ]
    final = await service(sessions, service_id)
    assert final.last_check_at == checks[-1].checked_at
    assert final.next_check_at > utcnow() + timedelta(seconds=50)  # one interval (60 s) ahead


async def test_every_kind_of_failure_is_a_stored_check_and_the_job_goes_on(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_getaddrinfo = asyncio.get_running_loop().getaddrinfo

    async def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        # DNS at the network edge: one name points at the cloud metadata address.
        if host == "metadata.example.internal":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]
        return await real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    registry = CollectorRegistry()
    metrics = VigilMetrics(registry)
    slow = TargetService(health_delay=1.5)
    async with running_target() as wrong, running_target(slow):
        wrong.health_status = 500
        ids = {
            "timeout": await add_service(
                sessions, name="slow", base_url=slow.url, timeout_seconds=0.5
            ),
            "connect": await add_service(
                sessions, name="closed", base_url=f"http://127.0.0.1:{free_port()}"
            ),
            "status": await add_service(sessions, name="wrong", base_url=wrong.url),
            "refused_address": await add_service(
                sessions, name="metadata", base_url="http://169.254.169.254"
            ),
            "refused_address_by_name": await add_service(
                sessions, name="by-name", base_url="http://metadata.example.internal"
            ),
            "dns": await add_service(
                sessions, name="nowhere", base_url="http://no-such-host.invalid"
            ),
        }
        assert await check_now(sessions, metrics=metrics) == len(ids)

    for kind, service_id in ids.items():
        (result,) = await checks_of(sessions, service_id)
        assert not result.ok, kind
        assert result.error == kind.removesuffix("_by_name"), (kind, result.detail)
        assert result.detail, kind
    (by_name,) = await checks_of(sessions, ids["refused_address_by_name"])
    assert "169.254.169.254" in by_name.detail
    (timed_out,) = await checks_of(sessions, ids["timeout"])
    assert timed_out.detail == "no answer within 0.5 s"
    assert timed_out.latency_ms is None
    assert timed_out.status_code is None
    assert registry.get_sample_value("vigil_service_checks_total", {"result": "timeout"}) == 1
    assert (
        registry.get_sample_value("vigil_service_checks_total", {"result": "refused_address"}) == 2
    )
    assert {(await service(sessions, i)).state for i in ids.values()} == {"pending"}


async def test_slow_answer_within_the_timeout_is_up_with_its_latency(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with running_target(TargetService(health_delay=0.3)) as target:
        service_id = await add_service(sessions, base_url=target.url, timeout_seconds=2.0)
        await check_now(sessions)
    (result,) = await checks_of(sessions, service_id)
    assert result.ok
    assert result.latency_ms >= 300


async def test_untrusted_certificate_is_a_tls_failure(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with running_target(tls_dir=tmp_path) as target:
        service_id = await add_service(sessions, base_url=target.url)
        await check_now(sessions)
    (result,) = await checks_of(sessions, service_id)
    assert not result.ok
    assert result.error == "tls"
    assert "certificate" in result.detail.lower()
    assert target.requests == []  # no request went out over the unverified connection


async def test_link_local_addresses_are_tried_when_allowed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service_id = await add_service(sessions, base_url="http://169.254.169.254", timeout_seconds=0.5)
    allowed = ServicesSettings(allow_link_local=True)
    await check_now(sessions, settings=allowed)
    (result,) = await checks_of(sessions, service_id)
    assert not result.ok
    assert result.error != "refused_address"  # no metadata server here: it times out


async def test_checks_carry_the_traceparent_of_the_job(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tracer = TracerProvider().get_tracer("test")
    async with running_target() as target:
        await add_service(sessions, base_url=target.url)
        with tracer.start_as_current_span("job services.check_due") as span:
            await check_now(sessions)
        trace_id = f"{span.get_span_context().trace_id:032x}"
    (request,) = target.requests
    assert request["traceparent"].split("-")[1] == trace_id
    assert request["user-agent"] == SETTINGS.user_agent


async def test_a_due_service_is_claimed_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_service(sessions, name="a")
    await add_service(sessions, name="b", next_check_at=utcnow() + timedelta(minutes=5))
    now = utcnow()
    first = await claim_due(sessions, now=now)
    second = await claim_due(sessions, now=now)
    assert [t.name for t in first] == ["a"]
    assert second == []


async def test_paused_service_is_not_checked_and_resumes_pending(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with running_target() as target:
        service_id = await add_service(sessions, base_url=target.url)
        await check_now(sessions)
        now = utcnow()
        async with sessions.begin() as session:
            row = await session.get(Service, service_id)
            assert row is not None
            pause(session, row, now)
        assert await check_now(sessions) == 0
        assert target.requests[1:] == []

        async with sessions.begin() as session:
            row = await session.get(Service, service_id)
            assert row is not None
            resume(session, row, now)
        resumed = await service(sessions, service_id)
        assert (resumed.state, resumed.enabled, resumed.next_check_at) == ("pending", True, now)
        assert await check_now(sessions) == 1
    assert [(a, b) for a, b, _ in await changes_of(sessions, service_id)] == [
        ("pending", "up"),
        ("up", "paused"),
        ("paused", "pending"),
        ("pending", "up"),
    ]


async def test_scrapes_run_with_the_check_and_bad_metrics_never_fail_the_job(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ScrapeStore()
    registry = CollectorRegistry()
    metrics = VigilMetrics(registry)
    async with running_target() as good, running_target() as bad:
        bad.metrics_text = "shop_orders_total{region=eu} 12\n"
        good_id = await add_service(
            sessions, name="good", base_url=good.url, metrics_path="/metrics"
        )
        bad_id = await add_service(sessions, name="bad", base_url=bad.url, metrics_path="/metrics")
        plain_id = await add_service(sessions, name="plain", base_url=good.url)
        assert await check_now(sessions, store, metrics=metrics) == 3

    good_scrape, bad_scrape = store.latest(good_id), store.latest(bad_id)
    assert good_scrape is not None
    assert good_scrape.error is None
    assert {(s.name, s.value) for s in good_scrape.samples} >= {("shop_queue_depth", 4.0)}
    assert bad_scrape is not None
    assert bad_scrape.error is not None
    assert bad_scrape.error.startswith("malformed metrics text")
    assert bad_scrape.samples == ()
    assert store.latest(plain_id) is None
    assert (await service(sessions, bad_id)).state == "up"  # health and scrape are separate
    assert registry.get_sample_value("vigil_service_scrapes_total", {"outcome": "error"}) == 1
    assert registry.get_sample_value("vigil_service_scrapes_total", {"outcome": "ok"}) == 1
