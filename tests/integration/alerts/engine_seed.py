"""Rows the alert engine tests evaluate: sites with Web Vitals, services with checks,
tasks, rules and a webhook channel, written straight through each domain's tables."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.models import AlertRule, AlertSeries, AlertTransition
from app.alerts.rule_store import create_rule
from app.alerts.rules import validate_rule
from app.db.base import utcnow
from app.notify.messages import AlertNotification
from app.notify.models import Channel, OutboxEntry
from app.notify.payload import from_row
from app.rum.aggregates import write_deltas
from app.rum.deltas import VitalsDelta
from app.rum.sites import create_site
from app.services.models import Service, ServiceCheck
from app.tasks.models import Task

Sessions = async_sessionmaker[AsyncSession]


async def add_site(sessions: Sessions, name: str) -> int:
    return (await create_site(sessions, name=name)).id


async def add_vitals(
    sessions: Sessions,
    site_id: int,
    metric: str,
    values: list[float],
    *,
    now: datetime,
    page: str = "/",
    device: str = "desktop",
) -> None:
    delta = VitalsDelta.empty(
        site_id=site_id, day=now.date(), page=page, device=device, metric=metric
    )
    for value in values:
        delta.count(value)
    await write_deltas(sessions, [delta], now=now)


async def add_service(sessions: Sessions, name: str, *, state: str = "up", **fields: Any) -> int:
    async with sessions.begin() as session:
        service = Service(
            name=name,
            base_url=f"http://{name}.test",
            ping_token=secrets.token_hex(8),
            state=state,
            **fields,
        )
        session.add(service)
        await session.flush()
        return service.id


async def set_service_state(sessions: Sessions, service_id: int, state: str) -> None:
    async with sessions.begin() as session:
        service = await session.get_one(Service, service_id)
        service.state = state


async def add_checks(
    sessions: Sessions, service_id: int, latencies_ms: list[float], *, at: datetime
) -> None:
    async with sessions.begin() as session:
        session.add_all(
            ServiceCheck(
                service_id=service_id, checked_at=at, ok=True, status_code=200, latency_ms=ms
            )
            for ms in latencies_ms
        )


async def add_task(
    sessions: Sessions,
    service_id: int | None,
    name: str,
    *,
    status: str = "up",
    overdue_at: datetime | None = None,
) -> int:
    async with sessions.begin() as session:
        task = Task(service_id=service_id, name=name, status=status, overdue_at=overdue_at)
        session.add(task)
        await session.flush()
        return task.id


async def set_task_status(sessions: Sessions, task_id: int, status: str) -> None:
    async with sessions.begin() as session:
        task = await session.get_one(Task, task_id)
        task.status = status


async def add_rule(sessions: Sessions, **raw: Any) -> int:
    """A rule from raw input, validated and stored like the API does."""
    rule = validate_rule({"comparison": ">", "threshold": 0} | raw)
    async with sessions.begin() as session:
        return (await create_rule(session, rule, now=utcnow())).id


async def add_webhook_channel(sessions: Sessions, name: str = "hook") -> int:
    async with sessions.begin() as session:
        channel = Channel(
            name=name,
            kind="webhook",
            config={"url": "http://127.0.0.1:9/hook", "secret": "s" * 32},
        )
        session.add(channel)
        await session.flush()
        return channel.id


async def outbox(sessions: Sessions) -> list[AlertNotification]:
    """Every notification in the outbox, oldest first."""
    async with sessions() as session:
        rows = await session.scalars(select(OutboxEntry).order_by(OutboxEntry.id))
        return [from_row(row.payload) for row in rows]


async def series_states(sessions: Sessions, rule_id: int) -> dict[str, str]:
    """``{first label value: state}`` of a rule's stored series."""
    async with sessions() as session:
        rows = await session.scalars(select(AlertSeries).where(AlertSeries.rule_id == rule_id))
        return {",".join(row.labels.values()): row.state for row in rows}


async def transitions(sessions: Sessions, rule_id: int) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(AlertTransition)
            .where(AlertTransition.rule_id == rule_id)
            .order_by(AlertTransition.id)
        )
        return [(row.from_state, row.to_state) for row in rows]


async def rule_row(sessions: Sessions, rule_id: int) -> AlertRule:
    async with sessions() as session:
        return await session.get_one(AlertRule, rule_id)
