"""What a task ping costs: ``GET /ping/{token}/{task}`` (stored durably, group commit) against
a bare Litestar endpoint answering ``OK`` to the same URL, in one run, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.pings [--duration 10] [--connections 32] [--pg-dsn DSN]

Each server is uvicorn (uvloop, httptools; ``bench._serve.uvicorn_config``) pinned to CPU 1,
loaded by wrk pinned to CPU 0 sending success pings of one task. Vigil runs with telemetry as
shipped (metrics on, 20 % of traces exported over OTLP/HTTP to a closed port, JSON logs at
INFO with ``access_log: errors``); the per-token rate limit is raised for the run (wrk pings
far faster than the 20/s default; a 429 would fail the run). PostgreSQL is the machine's
server (not pinned: it shares the cores with wrk and Vigil).

Every 200 means the ping was committed, so after each Vigil run the rows in ``task_runs``
must equal the 2xx answers the server counted (``vigil_http_requests_total`` for the ping
route; wrk's own count is shown too but misses requests in flight when it stops).
Goal: >= 0.25x the bare endpoint's requests/s, p99 <= 25 ms, no ping lost.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
from litestar import Litestar, MediaType, get

from bench._harness import (
    PG_ADMIN_DSN,
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
    wrk_version,
)

TOKEN = "benchtoken" + "0" * 22
TASK = "nightly-backup"
TARGET_RATIO = 0.25
TARGET_P99_MS = 25.0


# --------------------------------------------------------------------------- served apps


@get("/ping/{token:str}/{task:str}", media_type=MediaType.TEXT)
async def bare_ping(token: str, task: str) -> str:
    """The same URL answered ``OK`` without storing anything."""
    return "OK"


bare_app = Litestar(route_handlers=[bare_ping], logging_config=None, debug=False)


def vigil_app(*, db_url: str, otlp_endpoint: str) -> Litestar:
    from app.main import create_app
    from app.telemetry import configure_logging
    from bench.apps import vigil_settings

    settings = vigil_settings(
        parts=frozenset({"metrics", "tracing", "logs"}), db_url=db_url, otlp_endpoint=otlp_endpoint
    )
    tasks = msgspec.structs.replace(settings.tasks, rate_limit_per_second=1e9, rate_limit_burst=1e9)
    settings = msgspec.structs.replace(settings, tasks=tasks)
    configure_logging(settings.telemetry.logging)
    return create_app(settings)


def serve(argv: list[str]) -> None:
    import uvicorn

    from bench._serve import uvicorn_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--app", choices=["bare", "vigil"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db-url", default="")
    parser.add_argument("--otlp-endpoint", default="")
    args = parser.parse_args(argv)
    app = (
        bare_app
        if args.app == "bare"
        else vigil_app(db_url=args.db_url, otlp_endpoint=args.otlp_endpoint)
    )
    uvicorn.Server(uvicorn_config(app, args.port)).run()


# --------------------------------------------------------------------------- databases


async def _prepare(url: str) -> None:
    """Migrate ``url`` and register the service whose token the pings use."""
    from app.config import DatabaseSettings
    from app.db.engine import create_engine, create_session_factory
    from app.services.models import Service
    from bench.apps import migrate_database

    await migrate_database(url)
    engine = create_engine(DatabaseSettings(url=url))
    try:
        async with create_session_factory(engine).begin() as session:
            session.add(
                Service(
                    name="bench",
                    base_url="http://127.0.0.1:9",
                    ping_token=TOKEN,
                    enabled=False,
                    state="paused",
                )
            )
    finally:
        await engine.dispose()


async def _count_runs(url: str) -> int:
    from sqlalchemy import text

    from app.config import DatabaseSettings
    from app.db.engine import create_engine

    engine = create_engine(DatabaseSettings(url=url))
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM task_runs"))).scalar_one())
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Run:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    wrk_2xx: int
    counted_2xx: int | None
    stored: int | None


def _counted_2xx(port: int) -> int:
    """The 2xx answers the server counted on the ping route (``vigil_http_requests_total``)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = http_request(port, "GET", "/metrics").body.decode()
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "vigil_http_requests"
            for sample in family.samples
            if sample.name == "vigil_http_requests_total"
            and sample.labels.get("route") == "/ping/{token}/{task}"
            and "2xx" in (sample.labels.get("status_class"), sample.labels.get("status"))
        )
    )


def _run(name: str, workdir: Path, *, duration: float, connections: int, db_url: str | None) -> Run:
    port = free_port()
    argv = [sys.executable, "-m", "bench.pings", "--serve", "--port", str(port)]
    path = f"/ping/{TOKEN}/{TASK}"
    if db_url is None:
        argv += ["--app", "bare"]
        ready = "/schema"
    else:
        asyncio.run(_prepare(db_url))
        argv += ["--app", "vigil", "--db-url", db_url]
        argv += ["--otlp-endpoint", f"http://127.0.0.1:{closed_port()}/v1/traces"]
        ready = "/healthz"
    progress(f"{name}: {duration:.0f} s, {connections} connections")
    counted = stored = None
    log_path = workdir / f"{name.replace(' ', '_').replace(',', '')}.log"
    with pinned_server(argv, port=port, ready_path=ready, log_path=log_path) as srv:
        status = http_request(port, "GET", path).status
        if status != 200:
            raise BenchError(f"{name}: warm-up ping answered {status}\n{srv.log_tail()}")
        result = run_wrk(
            f"http://127.0.0.1:{port}{path}", duration=duration, connections=connections
        )
        if db_url is not None:
            time.sleep(1)  # let the pings in flight when wrk stopped finish (stored and counted)
            counted = _counted_2xx(port)
    if db_url is not None:
        stored = asyncio.run(_count_runs(db_url))
    return Run(
        name,
        result.requests_per_second,
        result.p50_ms,
        result.p99_ms,
        result.requests + 1,  # + the warm-up ping
        counted,
        stored,
    )


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=bounded_int(1, 120), default=10)
    parser.add_argument("--connections", type=bounded_int(1, 256), default=32)
    parser.add_argument("--pg-dsn", default=PG_ADMIN_DSN, help="an admin DSN (creates a DB)")
    args = parser.parse_args()
    require_machine()
    started = now_utc()
    machine = machine_line()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-pings-") as tmp:
        workdir = Path(tmp)
        common = {"duration": args.duration, "connections": args.connections}
        runs = [
            _run("bare", workdir, db_url=None, **common),
            _run(
                "vigil, SQLite",
                workdir,
                db_url=f"sqlite+aiosqlite:///{workdir / 'pings.db'}",
                **common,
            ),
        ]
        with scratch_database("postgresql", admin_dsn=args.pg_dsn) as pg_url:
            runs.append(_run("vigil, PostgreSQL", workdir, db_url=pg_url, **common))
    body = _report(runs, args=args, started=started, machine=machine)
    rewrite_doc_section("pings", body)
    print(body)


def _report(runs: list[Run], *, args: argparse.Namespace, started: str, machine: str) -> str:
    bare = runs[0].rps
    rows = [
        [
            run.name,
            f"{run.rps:,.0f}",
            f"{run.rps / bare:.2f}x",
            f"{run.p50_ms:.2f}",
            f"{run.p99_ms:.2f}",
            str(run.wrk_2xx),
            "" if run.counted_2xx is None else str(run.counted_2xx),
            "" if run.stored is None else str(run.stored),
        ]
        for run in runs
    ]
    table = markdown_table(
        [
            "server",
            "requests/s",
            "vs bare",
            "p50 ms",
            "p99 ms",
            "2xx (wrk)",
            "2xx (server counter)",
            "runs stored (DB)",
        ],
        rows,
        align="lrrrrrrr",
    )
    verdicts = []
    for run in runs[1:]:
        ratio = run.rps / bare
        ok_ratio = ratio >= TARGET_RATIO
        ok_p99 = run.p99_ms <= TARGET_P99_MS
        kept = run.stored == run.counted_2xx
        verdicts.append(
            f"- {run.name}: {ratio:.2f}x bare ({'meets' if ok_ratio else 'misses'} the"
            f" {TARGET_RATIO:.2f}x goal), p99 {run.p99_ms:.1f} ms"
            f" ({'meets' if ok_p99 else 'misses'} the {TARGET_P99_MS:.0f} ms goal);"
            f" {run.stored} runs stored for"
            f" {run.counted_2xx} pings answered 200 ({'none lost' if kept else 'MISMATCH'})."
        )
    return "\n".join(
        [
            "## Task pings: `GET /ping/{token}/{task}` vs a bare Litestar endpoint",
            "",
            f"`{command_line()}` — {started}; one run of {args.duration} s each,"
            f" {args.connections} connections, success pings of one task.",
            "",
            f"Machine: {machine}. wrk {wrk_version()}; "
            + ", ".join(
                f"{k} {v}" for k, v in versions("litestar", "uvicorn", "sqlalchemy").items()
            ),
            "",
            "Vigil: metrics on, 20 % of traces to a closed OTLP port, JSON logs at INFO"
            " (`access_log: errors`); per-token rate limit raised for the run. Each 200 is"
            " sent after the ping's transaction committed; concurrent pings share one"
            " transaction (group commit). PostgreSQL is the machine's server, not pinned."
            " Bare: Litestar `@get` on the same path answering `OK`.",
            "",
            table,
            "",
            *verdicts,
        ]
    )


if __name__ == "__main__":
    main()
