"""Run a sync function in one database transaction, the fastest way each database allows.

* PostgreSQL (asyncpg): through the async engine (``AsyncConnection.run_sync``); each
  statement is a network round trip on the event loop, no thread involved.
* SQLite: in one worker thread with a sync ``sqlite3`` engine on the same file, so a batch
  costs one hop to that thread. Through aiosqlite every cursor call is a hop of its own,
  which made a batch of pings ~15 thread hand-offs and capped throughput (docs/performance.md).
  The transaction starts with ``BEGIN IMMEDIATE``: it holds SQLite's write lock from its
  first read, so nothing changes the rows it read before it writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

T = TypeVar("T")


class Transactions(Protocol):
    """Runs ``fn(connection)`` in a transaction that commits when it returns."""

    async def run(self, fn: Callable[[Connection], T]) -> T: ...

    async def close(self) -> None: ...


class AsyncEngineTransactions:
    """Transactions on the async engine (any database)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(self, fn: Callable[[Connection], T]) -> T:
        async with self._engine.begin() as conn:
            return await conn.run_sync(fn)

    async def close(self) -> None:
        """Nothing of its own to close (the engine belongs to the app)."""


class SqliteThreadTransactions:
    """Transactions on a SQLite file, each run whole in one dedicated thread."""

    def __init__(self, engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
        url = engine.url.set(drivername="sqlite")
        self._engine = create_engine(url, poolclass=NullPool)
        _configure(self._engine, busy_timeout_ms=busy_timeout_ms)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-tasks-db")
        self._conn: Connection | None = None

    async def run(self, fn: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._run, fn)

    def _run(self, fn: Callable[[Connection], T]) -> T:
        if self._conn is None or self._conn.closed:
            self._conn = self._engine.connect()  # kept open: used by this thread only
        try:
            with self._conn.begin():
                return fn(self._conn)
        except Exception:
            self._conn.close()  # a fresh connection for the next batch
            self._conn = None
            raise

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._engine.dispose()


def transactions_for(engine: AsyncEngine, *, busy_timeout_ms: int) -> Transactions:
    """The fastest :class:`Transactions` for ``engine``'s database."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return SqliteThreadTransactions(engine, busy_timeout_ms=busy_timeout_ms)
    return AsyncEngineTransactions(engine)


def _configure(engine: Engine, *, busy_timeout_ms: int) -> None:
    """Same pragmas as the app's engine (``app.db.engine``), and ``BEGIN IMMEDIATE``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
