"""Migrations go base → head → base → head on both databases and match the models."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from app.config import DatabaseSettings
from app.db import migrate
from app.db.engine import create_engine, create_session_factory
from app.db.schema import metadata
from app.services.models import ServiceCheck, ServiceCheckHour
from app.services.registry import ServiceFields, create_service
from tests.conftest import DATABASES, PG_ADMIN_DSN, _admin_execute


@pytest.fixture(params=DATABASES)
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables at all, of this test's own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"vigil_mig_{secrets.token_hex(4)}"
    await _admin_execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_migrations_round_trip_base_head_base_head(empty_db_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=empty_db_url))
    expected = {table.name for table in metadata().sorted_tables}
    try:
        await migrate.upgrade(engine)
        assert expected <= await _tables(engine)
        assert await migrate.is_at_head(engine)
        await migrate.downgrade(engine, "base")
        assert await _tables(engine) <= {"alembic_version"}
        assert await migrate.current_revisions(engine) == ()
        await migrate.upgrade(engine)
        assert expected <= await _tables(engine)
        assert await migrate.is_at_head(engine)
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(empty_db_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=empty_db_url))
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata()
                )
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_empty_database_is_not_at_head(empty_db_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=empty_db_url))
    try:
        assert not await migrate.is_at_head(engine)
    finally:
        await engine.dispose()


async def test_check_hours_are_backfilled_from_the_checks_stored_before(
    empty_db_url: str,
) -> None:
    engine = create_engine(DatabaseSettings(url=empty_db_url))
    now = datetime(2026, 11, 23, 12, 40, tzinfo=UTC)
    try:
        await migrate.upgrade(engine, "0008")
        sessions = create_session_factory(engine)
        service = await create_service(
            sessions, ServiceFields(name="old", base_url="http://old.internal"), now=now
        )
        moments = [now, now - timedelta(minutes=30), now - timedelta(minutes=50)]
        async with sessions.begin() as session:
            await session.execute(
                insert(ServiceCheck),
                [
                    {"service_id": service.id, "checked_at": at, "ok": i != 1}
                    for i, at in enumerate(moments)
                ],
            )
        await migrate.upgrade(engine)
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(
                        ServiceCheckHour.hour, ServiceCheckHour.checks, ServiceCheckHour.ok
                    ).order_by(ServiceCheckHour.hour)
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            (datetime(2026, 11, 23, 11, tzinfo=UTC), 1, 1),
            (datetime(2026, 11, 23, 12, tzinfo=UTC), 2, 1),
        ]
    finally:
        await engine.dispose()
