"""SQL duration and slow-query metrics on a real SQLite database."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.telemetry.db_metrics import instrument_engine, statement_labels
from app.telemetry.metrics import VigilMetrics


def count(metrics: VigilMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_query_durations_are_labelled_by_operation_and_table(tmp_path: Path) -> None:
    metrics = VigilMetrics(CollectorRegistry())
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    instrument_engine(engine, metrics, slow_query_seconds=10)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE widgets (id INTEGER PRIMARY KEY, secret TEXT)"))
        await conn.execute(text("INSERT INTO widgets (secret) VALUES (:s)"), {"s": "p4ssw0rd"})
        await conn.execute(text("SELECT id FROM widgets WHERE secret = :s"), {"s": "p4ssw0rd"})
        await conn.execute(text("UPDATE widgets SET secret = 'x'"))
        await conn.execute(text("DELETE FROM widgets"))
    await engine.dispose()

    histogram = "vigil_db_query_duration_seconds_count"
    for operation in ("insert", "select", "update", "delete"):
        assert count(metrics, histogram, operation=operation, table="widgets") == 1, operation
    assert count(metrics, histogram, operation="other", table="other") >= 1  # CREATE TABLE
    assert count(metrics, "vigil_db_slow_queries_total", operation="select", table="widgets") == 0
    values = {v for f in metrics.registry.collect() for s in f.samples for v in s.labels.values()}
    assert not [v for v in values if "p4ssw0rd" in v or " " in v]


async def test_slow_queries_are_counted_and_logged_without_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = VigilMetrics(CollectorRegistry())
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    instrument_engine(engine, metrics, slow_query_seconds=1e-9)
    with caplog.at_level(logging.WARNING, logger="app.telemetry.db_metrics"):
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v TEXT)"))
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": "hunter2xyz"})
    await engine.dispose()
    assert count(metrics, "vigil_db_slow_queries_total", operation="insert", table="t") == 1
    slow = [r.getMessage() for r in caplog.records if "Slow query" in r.getMessage()]
    assert any("INSERT INTO t" in m for m in slow)
    assert not any("hunter2xyz" in m for m in slow)


@pytest.mark.parametrize(
    ("sql", "labels"),
    [
        ("SELECT a FROM rum_vitals WHERE x = ?", ("select", "rum_vitals")),
        ('select a from "main"."Services" s', ("select", "services")),
        ("SELECT * FROM (SELECT id FROM alerts) sub", ("select", "alerts")),
        (
            "\n  INSERT INTO task_runs (a) VALUES (?) ON CONFLICT DO NOTHING",
            ("insert", "task_runs"),
        ),
        ("UPDATE outbox SET x = 1", ("update", "outbox")),
        ("DELETE FROM sessions WHERE id < ?", ("delete", "sessions")),
        ("SELECT 1", ("select", "other")),
        ("PRAGMA journal_mode=WAL", ("other", "other")),
        ("WITH x AS (SELECT 1) SELECT * FROM x", ("other", "other")),
    ],
)
def test_statement_labels(sql: str, labels: tuple[str, str]) -> None:
    assert statement_labels(sql) == labels
