"""Does the retention purge stall ingest? Delete 1 M expired rows while RUM ingest runs at load.

    .venv/bin/python -m bench.retention [--db sqlite|postgresql|both] [--rows 1000000]
        [--duration 20] [--connections 32] [--batch-size 10000]

Each database (SQLite as shipped, and PostgreSQL) is seeded with ``--rows`` expired
``service_checks`` rows (older than ``retention.days``) plus a few thousand recent ones.
Vigil (uvicorn, pinned to CPU 1, metrics on, traces to a closed OTLP port, the shipped
access log) serves ``POST /rum/v1/{site_key}`` to wrk (pinned to CPU 0, same beacon as
``bench.rum_ingest``) twice per database, in one run each:

- *ingest only*: nothing else happens;
- *ingest + retention*: two seconds in, the server process runs the real purge
  (:func:`app.db.retention.delete_expired_rows`, ``retention.batch_size`` rows per
  transaction) in its own event loop, as the leader's job would.

The longest ingest stall is wrk's maximum latency (a request waiting behind a blocked event
loop or database shows up there); goal: <= 100 ms with the purge running on SQLite.
Afterwards the database must hold exactly the recent rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from app.config import RetentionSettings
from bench._harness import (
    BenchError,
    bounded_int,
    closed_port,
    command_line,
    free_port,
    http_request,
    machine_line,
    markdown_table,
    now_utc,
    pinned_server,
    progress,
    require_machine,
    rewrite_doc_section,
    run_wrk,
    scratch_database,
    versions,
    write_wrk_script,
    wrk_version,
)
from bench.rum_ingest import BEACON, HEADERS, KEY, ORIGIN

TARGET_STALL_MS = 100.0
RECENT_ROWS = 5_000
PURGE_DELAY_SECONDS = 2.0
_MAX_LATENCY_RE = re.compile(r"^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\b", re.M)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


# --------------------------------------------------------------------------- the server


def serve(argv: list[str]) -> None:
    """Serve Vigil; with ``--purge-report`` also run the purge after a delay and report it."""
    import uvicorn

    from bench._serve import uvicorn_config
    from bench.rum_ingest import vigil_app

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--otlp-endpoint", required=True)
    parser.add_argument("--purge-report", default="")
    parser.add_argument("--batch-size", type=int, default=0)
    args = parser.parse_args(argv)
    app = vigil_app(db_url=args.db_url, otlp_endpoint=args.otlp_endpoint, access_log="errors")
    server = uvicorn.Server(uvicorn_config(app, args.port))

    async def main() -> None:
        purge = (
            asyncio.create_task(_purge_later(app, Path(args.purge_report), args.batch_size))
            if args.purge_report
            else None
        )
        await server.serve()
        if purge is not None and not purge.done():
            purge.cancel()

    asyncio.run(main())


async def _purge_later(app: Any, report: Path, batch_size: int) -> None:
    from sqlalchemy import event

    from app.db.retention import RetentionTarget, delete_expired_rows
    from app.services.models import ServiceCheck

    await asyncio.sleep(PURGE_DELAY_SECONDS)
    statements: list[float] = []
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("DELETE FROM service_checks"):
            started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if (start := started.pop(id(cursor), None)) is not None:
            statements.append(time.perf_counter() - start)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    settings = app.state.settings
    batch_size = batch_size or settings.retention.batch_size
    begin = time.perf_counter()
    deleted = await delete_expired_rows(
        app.state.sessions,
        RetentionTarget(ServiceCheck.__table__, ServiceCheck.__table__.c.checked_at),
        cutoff=datetime.now(UTC) - timedelta(days=settings.retention.days),
        batch_size=batch_size,
        metrics=app.state.telemetry.metrics,
    )
    text = json.dumps(
        {
            "deleted": deleted,
            "seconds": time.perf_counter() - begin,
            "batches": len(statements),
            "longest_delete_ms": max(statements, default=0.0) * 1000,
            "batch_size": batch_size,
        }
    )
    await asyncio.to_thread(report.write_text, text)


# --------------------------------------------------------------------------- the database


_SERVICE_SQL = (
    "INSERT INTO services (id, name, base_url, health_path, expected_status, interval_seconds,"
    " timeout_seconds, labels, enabled, ping_token, failure_threshold, success_threshold, state,"
    " state_changed_at, consecutive_failures, consecutive_successes, next_check_at, created_at,"
    " updated_at) VALUES (1, 'bench', 'http://127.0.0.1:9', '/healthz', 200, 60, 5.0, '{{}}',"
    " false, 'bench-token', 3, 1, 'paused', {0}, 0, 0, {0}, {0}, {0})"
)
_SITE_SQL = (
    "INSERT INTO rum_sites (name, key, allowed_origins, sample_rate, page_cap, created_at)"
    " VALUES ('Bench', {0}, {1}, 1.0, 500, {2})"
)
_CHECK_COLUMNS = ("service_id", "checked_at", "ok", "status_code", "latency_ms")


def _check_times(rows: int, now: datetime) -> Iterator[datetime]:
    """``rows`` expired check times (31-60 days old), then :data:`RECENT_ROWS` recent ones."""
    old_start = now - timedelta(days=60)
    step = timedelta(days=29) / max(rows, 1)
    for i in range(rows):
        yield old_start + step * i
    for i in range(RECENT_ROWS):
        yield now - timedelta(seconds=i)


def _seed_sqlite(path: Path, rows: int) -> str:
    """A migrated SQLite database with a RUM site, a service and its checks."""
    from bench.apps import migrate_database

    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(migrate_database(url))
    now = datetime.now(UTC).replace(tzinfo=None)  # SQLite stores naive UTC
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(_SITE_SQL.format("?", "?", "?"), (KEY, json.dumps([ORIGIN]), str(now)))
        conn.execute(_SERVICE_SQL.format("?"), (now.strftime(stamp),) * 4)
        conn.executemany(
            f"INSERT INTO service_checks ({', '.join(_CHECK_COLUMNS)}) VALUES (1, ?, 1, 200, 12.5)",
            ((t.strftime(stamp),) for t in _check_times(rows, now)),
        )
    return url


async def _seed_postgresql(url: str, rows: int) -> None:
    """Migrate the (empty) PostgreSQL database at ``url`` and fill it like SQLite's."""
    from bench.apps import migrate_database

    await migrate_database(url)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(_SITE_SQL.format("$1", "$2", "$3"), KEY, json.dumps([ORIGIN]), now)
        await conn.execute(_SERVICE_SQL.format("$1"), now)
        await conn.copy_records_to_table(
            "service_checks",
            records=((1, t, True, 200, 12.5) for t in _check_times(rows, now)),
            columns=list(_CHECK_COLUMNS),
        )
        await conn.execute("ANALYZE service_checks")
    finally:
        await conn.close()


async def _count_postgresql(url: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await conn.fetchval("SELECT COUNT(*) FROM service_checks"))
    finally:
        await conn.close()


@contextlib.contextmanager
def seeded_database(
    kind: str, workdir: Path, name: str, rows: int
) -> Iterator[tuple[str, Callable[[], int]]]:
    """A fresh database of ``kind`` seeded with ``rows`` expired checks: its URL and a function
    counting the checks left."""
    if kind == "sqlite":
        path = workdir / f"{name}.db"
        url = _seed_sqlite(path, rows)

        def count_sqlite() -> int:
            with sqlite3.connect(path) as conn:
                return int(conn.execute("SELECT COUNT(*) FROM service_checks").fetchone()[0])

        yield url, count_sqlite
        return
    with scratch_database("postgresql") as url:
        asyncio.run(_seed_postgresql(url, rows))
        yield url, lambda: asyncio.run(_count_postgresql(url))


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Run:
    name: str
    rps: float
    p99_ms: float
    max_ms: float
    purge: dict[str, Any] | None


def _max_latency_ms(output: str) -> float:
    match = _MAX_LATENCY_RE.search(output)
    if match is None:
        raise BenchError(f"no latency line in wrk output:\n{output}")
    return float(match[1]) * _UNIT_MS[match[2]]


def _run(
    kind: str,
    workdir: Path,
    *,
    rows: int,
    purge: bool,
    duration: int,
    conns: int,
    batch: int,
) -> Run:
    name = f"{kind}, {'ingest + retention' if purge else 'ingest only'}"
    progress(f"{name}: seeding {rows if purge else 0:,} expired rows")
    with seeded_database(kind, workdir, f"{kind}-{purge}", rows if purge else 0) as (url, count):
        return _load(
            name,
            workdir,
            url,
            count,
            rows=rows,
            purge=purge,
            duration=duration,
            conns=conns,
            batch=batch,
        )


def _load(
    name: str,
    workdir: Path,
    db_url: str,
    count: Callable[[], int],
    *,
    rows: int,
    purge: bool,
    duration: int,
    conns: int,
    batch: int,
) -> Run:
    port = free_port()
    report = workdir / "purge.json"
    report.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "bench.retention", "--serve", "--port", str(port)]
    argv += ["--db-url", db_url, "--otlp-endpoint", f"http://127.0.0.1:{closed_port()}/v1/traces"]
    if purge:
        argv += ["--purge-report", str(report), "--batch-size", str(batch)]
    script = write_wrk_script(workdir / "beacon.lua", method="POST", body=BEACON, headers=HEADERS)
    progress(f"{name}: {duration} s of ingest, {conns} connections")
    with pinned_server(
        argv, port=port, ready_path="/healthz", log_path=workdir / f"{port}.log"
    ) as server:
        status = http_request(port, "POST", f"/rum/v1/{KEY}", body=BEACON, headers=HEADERS).status
        if status != 202:
            raise BenchError(f"{name}: warm-up beacon answered {status}\n{server.log_tail()}")
        result = run_wrk(
            f"http://127.0.0.1:{port}/rum/v1/{KEY}",
            duration=duration,
            connections=conns,
            script=script,
        )
        if purge and not report.exists():
            raise BenchError(f"{name}: the purge did not finish within the {duration} s run")
    purged = json.loads(report.read_text()) if purge else None
    if purged is not None:
        left = count()
        if purged["deleted"] != rows or left != RECENT_ROWS:
            raise BenchError(f"purge deleted {purged['deleted']} of {rows}; {left} rows left")
    return Run(
        name, result.requests_per_second, result.p99_ms, _max_latency_ms(result.output), purged
    )


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=bounded_int(1000, 10_000_000), default=1_000_000)
    parser.add_argument("--duration", type=bounded_int(5, 300), default=20)
    parser.add_argument("--connections", type=bounded_int(1, 256), default=32)
    parser.add_argument(
        "--batch-size",
        type=bounded_int(100, 1_000_000),
        default=RetentionSettings().batch_size,
        help="rows per delete transaction (default: retention.batch_size's default)",
    )
    parser.add_argument(
        "--note", default="", help="a sentence added to the report (e.g. why a run was short)"
    )
    args = parser.parse_args()
    require_machine()
    started, machine = now_utc(), machine_line()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="vigil-bench-retention-") as tmp:
        runs = [
            _run(
                kind,
                Path(tmp),
                rows=args.rows,
                purge=purge,
                duration=args.duration,
                conns=args.connections,
                batch=args.batch_size,
            )
            for kind in kinds
            for purge in (False, True)
        ]
    _report(runs, args, started, machine)


def _report(runs: list[Run], args: argparse.Namespace, started: str, machine: str) -> None:
    rows = []
    for run in runs:
        purge = run.purge or {}
        rows.append(
            [
                run.name,
                f"{run.rps:,.0f}",
                f"{run.p99_ms:.1f}",
                f"{run.max_ms:.1f}",
                f"{purge['deleted']:,}" if purge else "",
                f"{purge['seconds']:.1f}" if purge else "",
                f"{purge['batches']} x {purge['batch_size']:,}" if purge else "",
                f"{purge['longest_delete_ms']:.0f}" if purge else "",
            ]
        )
    table = markdown_table(
        [
            "run",
            "beacons/s",
            "p99 ms",
            "max ms (longest stall)",
            "rows deleted",
            "purge s",
            "batches",
            "longest DELETE ms",
        ],
        rows,
        align="lrrrrrrr",
    )
    verdicts = []
    for quiet, purging in zip(runs[::2], runs[1::2], strict=True):
        database = purging.name.split(",")[0]
        verdict = "meets" if purging.max_ms <= TARGET_STALL_MS else "misses"
        verdicts.append(
            f"- {database}: longest ingest stall with the purge running {purging.max_ms:.0f} ms"
            f" ({verdict} the {TARGET_STALL_MS:.0f} ms goal); without it {quiet.max_ms:.0f} ms."
        )
    body = "\n".join(
        [
            "## Retention: purging 1 M expired rows while RUM ingest runs",
            "",
            f"`{command_line()}` — {started}; {args.duration} s of wrk per run,"
            f" {args.connections} connections, {args.rows:,} expired `service_checks` rows"
            f" plus {RECENT_ROWS:,} recent ones; batches of {args.batch_size:,} rows"
            " (`retention.batch_size`). PostgreSQL is the machine's server, not pinned.",
            "",
            f"Machine: {machine}. wrk {wrk_version()}; "
            + ", ".join(
                f"{k} {v}" for k, v in versions("sqlalchemy", "aiosqlite", "asyncpg").items()
            ),
            "",
            "Vigil as in `bench.rum_ingest` (access log: errors). In the second run the server"
            " process itself starts the real purge (`app.db.retention.delete_expired_rows`, one"
            f" transaction per batch) {PURGE_DELAY_SECONDS:.0f} s in; every expired row is"
            " gone afterwards and every recent one is kept (checked).",
            "",
            table,
            "",
            *verdicts,
            *([f"- {args.note}"] if args.note else []),
        ]
    )
    rewrite_doc_section("retention", body)
    print(body)


if __name__ == "__main__":
    main()
