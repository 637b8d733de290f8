"""Fixtures of the task tests: a registered service with a known ping token, rows read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.models import Service
from app.tasks.models import Task, TaskRun, TaskStatusChange
from app.tasks.transactions import transactions_for
from app.tasks.writer import PingWriter, TaskDefaults

TOKEN = "tok_" + "a" * 28
OTHER_TOKEN = "tok_" + "b" * 28


async def add_service(
    sessions: async_sessionmaker[AsyncSession], *, name: str = "billing", token: str = TOKEN
) -> int:
    async with sessions.begin() as session:
        service = Service(name=name, base_url="http://127.0.0.1:9", ping_token=token)
        session.add(service)
    return service.id


@pytest.fixture
async def service_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await add_service(sessions)


@pytest.fixture
async def client(service_id: int, app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def tasks(sessions: async_sessionmaker[AsyncSession]) -> list[Task]:
    async with sessions() as session:
        return list(await session.scalars(select(Task).order_by(Task.id)))


async def runs(
    sessions: async_sessionmaker[AsyncSession], task: str | None = None
) -> list[TaskRun]:
    async with sessions() as session:
        query = select(TaskRun).order_by(TaskRun.id)
        if task is not None:
            query = query.join(Task, Task.id == TaskRun.task_id).where(Task.name == task)
        return list(await session.scalars(query))


async def changes(sessions: async_sessionmaker[AsyncSession]) -> list[TaskStatusChange]:
    async with sessions() as session:
        return list(await session.scalars(select(TaskStatusChange).order_by(TaskStatusChange.id)))


def only(rows: list[Any]) -> Any:
    assert len(rows) == 1, rows
    return rows[0]


def make_writer(
    sessions: async_sessionmaker[AsyncSession],
    *,
    defaults: TaskDefaults | None = None,
    max_log_bytes: int = 10_000,
) -> PingWriter:
    """A writer on the test database, with the transactions the app would use for it."""
    transactions = transactions_for(sessions.kw["bind"], busy_timeout_ms=5000)
    return PingWriter(
        transactions, defaults=defaults or TaskDefaults(), max_log_bytes=max_log_bytes
    )
