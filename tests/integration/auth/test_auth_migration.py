"""Migration 0002 matches the auth models and can be reverted, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from app.config import DatabaseSettings
from app.db import migrate
from app.db.engine import create_engine
from app.db.schema import metadata

AUTH_TABLES = {"users", "login_sessions", "api_tokens", "auth_secrets"}


def _auth_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diff = compare_metadata(context, metadata())
    return [d for d in diff if AUTH_TABLES & set(_tables_named(d))]


def _tables_named(diff: object) -> list[str]:
    """Table names mentioned anywhere in one autogenerate diff entry."""
    names: list[str] = []
    stack: list[object] = [diff]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str):
            names.append(item)
        elif hasattr(item, "table") and hasattr(item.table, "name"):
            names.append(item.table.name)
        elif hasattr(item, "name") and hasattr(item, "columns") and not hasattr(item, "table"):
            names.append(item.name)
    return names


async def test_auth_models_and_migration_agree(db_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=db_url))
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_auth_diff)
        assert diff == []
    finally:
        await engine.dispose()


async def test_auth_migration_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=db_url))
    try:
        await migrate.downgrade(engine, "0001")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert not AUTH_TABLES & tables
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert tables >= AUTH_TABLES
    finally:
        await engine.dispose()
