"""The service registry: normalised input, pause/resume through the state machine, re-token,
and deletion with everything that belongs to the service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.services import registry
from app.services.models import Service, ServiceCheck, ServiceStateChange
from app.services.registry import ServiceError, ServiceFields

SHOP = ServiceFields(name="Shop API", base_url="https://shop.internal")


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://Shop.Internal/", "https://shop.internal"),
        ("HTTP://shop.internal:8080/api/v1/", "http://shop.internal:8080/api/v1"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://10.0.0.7", "http://10.0.0.7"),
        ("  https://bücher.example  ", "https://xn--bcher-kva.example"),
    ],
)
def test_base_urls_are_normalised(url: str, normalised: str) -> None:
    assert registry.check_base_url(url) == normalised


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"a-b": "x"}, "must match"),
        ({"": "x"}, "must match"),
        ({"x" * 65: "y"}, "at most 64"),
        ({"__meta": "x"}, "must not start with __"),
        ({"vigil_service": "x"}, "set by Vigil itself"),
        ({"team": "a\nb"}, "control characters"),
    ],
)
def test_bad_labels_are_refused_with_the_field(labels: dict[str, str], reason: str) -> None:
    with pytest.raises(ServiceError, match=reason) as refused:
        registry.check_labels(labels)
    assert refused.value.field == "labels"


def test_validation_trims_and_clears_an_empty_metrics_path() -> None:
    valid = registry.validate(
        ServiceFields(name="  Shop  ", base_url="https://shop.internal/", metrics_path="  ")
    )

    assert (valid.name, valid.base_url, valid.metrics_path) == (
        "Shop",
        "https://shop.internal",
        None,
    )


async def test_a_new_service_gets_a_unique_token_and_is_due_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    first = await registry.create_service(sessions, SHOP, now=now)
    second = await registry.create_service(
        sessions, ServiceFields(name="Billing", base_url="http://billing"), now=now
    )

    assert first.ping_token != second.ping_token
    assert len(first.ping_token) == 32
    stored = await registry.get_service(sessions, service_id=first.id)
    assert stored is not None
    assert (stored.state, stored.enabled, stored.next_check_at) == ("pending", True, now)


async def test_disabling_pauses_and_enabling_resumes_through_the_state_machine(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    start = utcnow()
    service = await registry.create_service(sessions, SHOP, now=start)
    later = start + timedelta(minutes=5)

    paused = await registry.update_service(
        sessions, service_id=service.id, changes={"enabled": False}, now=later
    )
    resumed = await registry.update_service(
        sessions, service_id=service.id, changes={"enabled": True}, now=later
    )

    assert (paused.enabled, paused.state) == (False, "paused")
    assert (resumed.enabled, resumed.state, resumed.next_check_at) == (True, "pending", later)
    async with sessions() as session:
        moves = (
            await session.execute(
                select(ServiceStateChange.from_state, ServiceStateChange.to_state).where(
                    ServiceStateChange.service_id == service.id
                )
            )
        ).all()
    assert sorted(tuple(m) for m in moves) == [("paused", "pending"), ("pending", "paused")]


async def test_a_shorter_interval_brings_the_next_check_forward(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    service = await registry.create_service(
        sessions, ServiceFields(name="Slow", base_url="http://slow", interval_seconds=3600), now=now
    )
    async with sessions.begin() as session:
        row = await session.get(Service, service.id)
        assert row is not None
        row.next_check_at = now + timedelta(hours=1)

    updated = await registry.update_service(
        sessions, service_id=service.id, changes={"interval_seconds": 30}, now=now
    )

    assert updated.next_check_at == now + timedelta(seconds=30)


async def test_an_update_is_validated_as_a_whole_and_changes_nothing_when_bad(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = await registry.create_service(sessions, SHOP, now=utcnow())

    with pytest.raises(ServiceError, match="shorter than the interval") as refused:
        await registry.update_service(
            sessions,
            service_id=service.id,
            changes={"name": "Renamed", "interval_seconds": 10, "timeout_seconds": 10.0},
            now=utcnow(),
        )
    with pytest.raises(ServiceError, match="unknown field"):
        await registry.update_service(
            sessions, service_id=service.id, changes={"state": "up"}, now=utcnow()
        )

    assert refused.value.field == "timeout_seconds"
    stored = await registry.get_service(sessions, service_id=service.id)
    assert stored is not None
    assert (stored.name, stored.interval_seconds, stored.state) == ("Shop API", 60, "pending")


async def test_unknown_ids_raise_not_found(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(registry.ServiceNotFoundError):
        await registry.update_service(sessions, service_id=42, changes={}, now=utcnow())
    with pytest.raises(registry.ServiceNotFoundError):
        await registry.regenerate_token(sessions, service_id=42, now=utcnow())
    assert await registry.delete_service(sessions, service_id=42) is False


async def test_deleting_a_service_deletes_its_checks_and_state_changes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    doomed = await registry.create_service(sessions, SHOP, now=now)
    kept = await registry.create_service(
        sessions, ServiceFields(name="Billing", base_url="http://billing"), now=now
    )
    async with sessions.begin() as session:
        for service_id in (doomed.id, kept.id):
            session.add(ServiceCheck(service_id=service_id, checked_at=now, ok=True))
            session.add(
                ServiceStateChange(
                    service_id=service_id, changed_at=now, from_state="pending", to_state="up"
                )
            )

    assert await registry.delete_service(sessions, service_id=doomed.id) is True

    async with sessions() as session:
        checks = await session.scalar(select(func.count()).select_from(ServiceCheck))
        changes = await session.scalar(select(func.count()).select_from(ServiceStateChange))
    assert (checks, changes) == (1, 1)
    assert [s.name for s in await registry.list_services(sessions)] == ["Billing"]
