"""SQL statement duration and slow-query metrics through SQLAlchemy cursor events.

Labels are the operation (select, insert, update, delete, other) and the first table the
statement names (``other`` when it cannot be read cheaply); never SQL text or parameters.
"""

from __future__ import annotations

import logging
import re
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from prometheus_client.metrics import Counter, Histogram

    from app.telemetry.metrics import VigilMetrics

__all__ = ["instrument_engine", "statement_labels"]

logger = logging.getLogger(__name__)
_START_KEY = "vigil_query_start"
_MAX_LOGGED_SQL = 300
_OPERATIONS = frozenset({"select", "insert", "update", "delete"})
# "[schema.]table", each part optionally quoted; the table name is the last group.
_NAME = r"""(?:[\"`\[]?\w+[\"`\]]?\s*\.\s*)?[\"`\[]?([A-Za-z_]\w*)"""
_TABLE_AFTER = {
    "select": re.compile(r"(?is)\bfrom\s+" + _NAME),
    "delete": re.compile(r"(?is)\bfrom\s+" + _NAME),
    "insert": re.compile(r"(?is)\binto\s+" + _NAME),
    "update": re.compile(r"(?is)^\s*update\s+(?:or\s+\w+\s+)?" + _NAME),
}
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@lru_cache(maxsize=4096)
def statement_labels(statement: str) -> tuple[str, str]:
    """(operation, table) for a SQL statement; cached, as statements repeat."""
    words = statement.lstrip(" \t\r\n(").split(None, 1)
    operation = words[0].lower() if words else "other"
    if operation not in _OPERATIONS:
        return "other", "other"
    match = _TABLE_AFTER[operation].search(statement)
    if match is None:
        return operation, "other"
    table = match.group(1).lower()
    return operation, table if _IDENTIFIER.fullmatch(table) else "other"


class _QueryTimer:
    """Event listeners for one engine."""

    def __init__(self, metrics: VigilMetrics, slow_query_seconds: float) -> None:
        self.metrics = metrics
        self.slow_query_seconds = slow_query_seconds
        self._children: dict[tuple[str, str], Histogram] = {}
        self._slow: dict[tuple[str, str], Counter] = {}

    def before(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault(_START_KEY, []).append(time.perf_counter())

    def after(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        starts = conn.info.get(_START_KEY)
        if not starts:
            return
        duration = time.perf_counter() - starts.pop()
        labels = statement_labels(statement)
        histogram = self._children.get(labels)
        if histogram is None:
            histogram = self._children[labels] = self.metrics.db_query_duration.labels(*labels)
        histogram.observe(duration)
        if duration >= self.slow_query_seconds:
            counter = self._slow.get(labels)
            if counter is None:
                counter = self._slow[labels] = self.metrics.db_slow_queries.labels(*labels)
            counter.inc()
            sql = " ".join(statement.split())
            if len(sql) > _MAX_LOGGED_SQL:
                sql = sql[:_MAX_LOGGED_SQL] + "..."
            logger.warning(
                "Slow query: %.3f s (%s %s): %s",
                duration,
                *labels,
                sql,
                extra={"duration_ms": round(duration * 1000, 3)},
            )

    def error(self, context: ExceptionContext) -> None:
        conn = context.connection
        if conn is not None and conn.info.get(_START_KEY):
            conn.info[_START_KEY].pop()


def instrument_engine(
    engine: Engine | AsyncEngine, metrics: VigilMetrics, slow_query_seconds: float
) -> None:
    """Record every statement run on ``engine`` (an AsyncEngine's sync engine is used)."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    timer = _QueryTimer(metrics, slow_query_seconds)
    event.listen(sync_engine, "before_cursor_execute", timer.before)
    event.listen(sync_engine, "after_cursor_execute", timer.after)
    event.listen(sync_engine, "handle_error", timer.error)
