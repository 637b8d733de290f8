"""Alembic migrations run from code: upgrade, downgrade, current, and an at-head check."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, column, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    """Alembic's config, pointing at the repository's ``migrations/`` folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    await _run(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` removes every table)."""
    await _run(engine, lambda config: command.downgrade(config, revision))


async def current_revisions(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions the database is at (empty before the first migration)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_stamped_revisions)


def _stamped_revisions(connection: Connection) -> tuple[str, ...]:
    """Read Alembic's version table directly: ``MigrationContext`` logs two INFO lines per
    call, once per ``/readyz`` probe."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return ()
    return tuple(
        connection.execute(
            select(column("version_num")).select_from(table(VERSION_TABLE))
        ).scalars()
    )


@cache
def head_revisions() -> tuple[str, ...]:
    """The revisions the code expects."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


async def is_at_head(engine: AsyncEngine) -> bool:
    """True when the database schema is what this version of Vigil expects."""
    return set(await current_revisions(engine)) == set(head_revisions())


async def _run(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)

    async with engine.begin() as conn:
        await conn.run_sync(run)
