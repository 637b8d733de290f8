"""Shared fixtures: every database test runs on SQLite and on the machine's PostgreSQL.

PostgreSQL: one database per test run (``vigil_test_<random>``, created from the ``test``
database and dropped at the end), migrated once; each test starts from empty tables.
SQLite: a fresh, migrated file per test.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import (
    DatabaseSettings,
    SchedulerSettings,
    Settings,
    TelemetrySettings,
    TracingSettings,
)
from app.db import migrate
from app.db.engine import create_engine, create_session_factory

PG_ADMIN_DSN = os.environ.get("VIGIL_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
DATABASES = ["sqlite", "postgresql"]


async def _admin_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    engine = create_engine(DatabaseSettings(url=url))
    await migrate.upgrade(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A PostgreSQL database of this run's own, migrated to head, dropped afterwards."""
    name = f"vigil_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"

    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_tables(url: str) -> None:
    from app.db.schema import metadata

    engine = create_engine(DatabaseSettings(url=url))
    tables = ", ".join(f'"{t.name}"' for t in metadata().sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database at the latest migration: SQLite file or this run's PostgreSQL."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_database_url")
        asyncio.run(_empty_tables(url))
        return url
    url = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    asyncio.run(_migrate(url))
    return url


def make_settings(db_url: str, **sections: object) -> Settings:
    """Settings for tests: the given database, no scheduler, no trace export."""
    defaults: dict[str, object] = {
        "database": DatabaseSettings(url=db_url, auto_upgrade=False),
        "scheduler": SchedulerSettings(enabled=False),
        "telemetry": TelemetrySettings(tracing=TracingSettings(enabled=False)),
    }
    return Settings(**(defaults | sections))  # type: ignore[arg-type]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app(settings)


@pytest.fixture
async def client(app):  # type: ignore[no-untyped-def]
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(DatabaseSettings(url=db_url))
    yield create_session_factory(engine)
    await engine.dispose()
