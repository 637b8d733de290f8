"""What RUM ingest costs: the real beacon route, telemetry on as shipped, against a bare
Litestar + msgspec endpoint that decodes the same beacon and answers 204, in one run.

    .venv/bin/python -m bench.rum_ingest [--duration 10] [--connections 32]

Each server is uvicorn (uvloop, httptools; ``bench._serve.uvicorn_config``) pinned to CPU 1,
loaded by wrk pinned to CPU 0 with a Lua script POSTing one beacon (text/plain, an allowed
Origin, a browser user agent). Vigil runs with metrics on, 20 % of traces exported over
OTLP/HTTP to a closed port and JSON logs at INFO, twice: with the access log of every
request (``access_log: all``, as ``bench.overhead``'s ``vigil-on``) and with the shipped
default (``access_log: errors``). The per-site rate limit is raised for the run (wrk sends
from one "site" far faster than the 500 beacons/s default; a 429 would fail the run).

After each Vigil run the server gets SIGTERM and its database is read: the events stored
(sum of ``n`` in ``rum_vitals_daily``) must equal the events accepted (wrk's 2xx answers x
events per beacon; the server's own ``accepted`` counter is shown too, since wrk does not
count requests in flight when it stops). Goal: ≥ 0.85x the bare endpoint's requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, post
from litestar.exceptions import ValidationException

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
    versions,
    wrk_version,
)

KEY = "benchsite0000001"
ORIGIN = "https://shop.example.com"
BARE_PATH = "/beacon/{site_key:str}"
TARGET_RATIO = 0.85
BEACON = json.dumps(
    {
        "page": "/products/42?utm_source=mail",
        "vw": 1280,
        "events": [
            {
                "name": "LCP",
                "value": 2312.5,
                "delta": 2312.5,
                "id": "v5-1700000000000-8123456789012",
                "rating": "good",
                "navigationType": "navigate",
                "timestamp": 1700000001234,
            },
            {
                "name": "CLS",
                "value": 0.113,
                "delta": 0.113,
                "id": "v5-1700000000000-8123456789013",
                "rating": "needs-improvement",
                "navigationType": "navigate",
                "timestamp": 1700000009876,
            },
        ],
    },
    separators=(",", ":"),
).encode()
EVENTS_PER_BEACON = 2
HEADERS = {
    "Content-Type": "text/plain;charset=UTF-8",
    "Origin": ORIGIN,
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
}


# --------------------------------------------------------------------------- served apps


@post(BARE_PATH, status_code=204)
async def bare_rum_beacon(request: Request[Any, Any, Any], site_key: str) -> None:
    """Strict msgspec decode of the same beacon with Vigil's schema, then 204."""
    from app.rum.schemas import BeaconError, decode_beacon

    try:
        decode_beacon(await request.body())
    except BeaconError as exc:
        raise ValidationException(str(exc)) from None


bare_app = Litestar(route_handlers=[bare_rum_beacon], logging_config=None, debug=False)


def vigil_app(*, db_url: str, otlp_endpoint: str, access_log: str) -> Litestar:
    from app.main import create_app
    from app.rum.ratelimit import SiteRateLimiter
    from app.telemetry import configure_logging
    from bench.apps import vigil_settings

    settings = vigil_settings(
        parts=frozenset({"metrics", "tracing", "logs"}), db_url=db_url, otlp_endpoint=otlp_endpoint
    )
    logging_settings = msgspec.structs.replace(settings.telemetry.logging, access_log=access_log)
    telemetry = msgspec.structs.replace(settings.telemetry, logging=logging_settings)
    settings = msgspec.structs.replace(settings, telemetry=telemetry)
    configure_logging(settings.telemetry.logging)
    app = create_app(settings)
    app.state.rum.limiter = SiteRateLimiter(rate=1e9, burst=1e9)
    return app


def serve(argv: list[str]) -> None:
    import uvicorn

    from bench._serve import uvicorn_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--app", choices=["bare", "vigil"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db-url", default="")
    parser.add_argument("--otlp-endpoint", default="")
    parser.add_argument("--access-log", default="all")
    args = parser.parse_args(argv)
    app = (
        bare_app
        if args.app == "bare"
        else vigil_app(
            db_url=args.db_url, otlp_endpoint=args.otlp_endpoint, access_log=args.access_log
        )
    )
    uvicorn.Server(uvicorn_config(app, args.port)).run()


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Run:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    answered_2xx: int
    counted_accepted: int | None
    stored_events: int | None


def _prepare_db(path: Path) -> str:
    from bench.apps import migrate_database

    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(migrate_database(url))
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO rum_sites (name, key, allowed_origins, sample_rate, page_cap, created_at)"
            " VALUES ('Bench', ?, ?, 1.0, 500, '2026-11-01 00:00:00.000000')",
            (KEY, json.dumps([ORIGIN])),
        )
    return url


def _accepted_counter(port: int) -> int:
    text = http_request(port, "GET", "/metrics").body.decode()
    pattern = re.compile(r"^vigil_rum_events_total\{([^}]*)\} ([\d.e+]+)$", re.M)
    return int(sum(float(m[2]) for m in pattern.finditer(text) if 'outcome="accepted"' in m[1]))


def _stored(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COALESCE(SUM(n), 0) FROM rum_vitals_daily").fetchone()[0])


def _run(
    name: str,
    workdir: Path,
    *,
    duration: float,
    connections: int,
    access_log: str | None,
) -> Run:
    port = free_port()
    argv = [sys.executable, "-m", "bench.rum_ingest", "--serve", "--port", str(port)]
    db_path = workdir / f"{name}.db"
    if access_log is None:
        argv += ["--app", "bare"]
        path, ready = f"/beacon/{KEY}", "/schema"
    else:
        db_url = _prepare_db(db_path)
        argv += ["--app", "vigil", "--db-url", db_url, "--access-log", access_log]
        argv += ["--otlp-endpoint", f"http://127.0.0.1:{closed_port()}/v1/traces"]
        path, ready = f"/rum/v1/{KEY}", "/healthz"
    script = workdir / "beacon.lua"
    from bench._harness import write_wrk_script

    write_wrk_script(script, method="POST", body=BEACON, headers=HEADERS)
    progress(f"{name}: {duration:.0f} s, {connections} connections")
    counted = None
    with pinned_server(argv, port=port, ready_path=ready, log_path=workdir / f"{name}.log") as srv:
        status = http_request(port, "POST", path, body=BEACON, headers=HEADERS).status
        if status not in (202, 204):
            raise BenchError(f"{name}: warm-up beacon answered {status}\n{srv.log_tail()}")
        result = run_wrk(
            f"http://127.0.0.1:{port}{path}",
            duration=duration,
            connections=connections,
            script=script,
        )
        if access_log is not None:
            counted = _accepted_counter(port)
    stored = _stored(db_path) if access_log is not None else None
    return Run(
        name,
        result.requests_per_second,
        result.p50_ms,
        result.p99_ms,
        result.requests + 1,  # + the warm-up beacon
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
    args = parser.parse_args()
    require_machine()
    started = now_utc()
    machine = machine_line()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-rum-") as tmp:
        workdir = Path(tmp)
        runs = [
            _run(
                "bare",
                workdir,
                duration=args.duration,
                connections=args.connections,
                access_log=None,
            ),
            _run(
                "vigil, access log all",
                workdir,
                duration=args.duration,
                connections=args.connections,
                access_log="all",
            ),
            _run(
                "vigil, access log errors (default)",
                workdir,
                duration=args.duration,
                connections=args.connections,
                access_log="errors",
            ),
        ]
    bare = runs[0].rps
    rows = []
    for run in runs:
        accepted = "" if run.stored_events is None else str(run.answered_2xx * EVENTS_PER_BEACON)
        rows.append(
            [
                run.name,
                f"{run.rps:,.0f}",
                f"{run.rps / bare:.2f}x",
                f"{run.p50_ms:.2f}",
                f"{run.p99_ms:.2f}",
                accepted,
                "" if run.counted_accepted is None else str(run.counted_accepted),
                "" if run.stored_events is None else str(run.stored_events),
            ]
        )
    table = markdown_table(
        [
            "server",
            "requests/s",
            "vs bare",
            "p50 ms",
            "p99 ms",
            "events answered 202 (wrk)",
            "events accepted (counter)",
            "events stored (DB)",
        ],
        rows,
        align="lrrrrrrr",
    )
    verdicts = []
    for run in runs[1:]:
        ratio = run.rps / bare
        kept = run.stored_events == run.counted_accepted
        verdicts.append(
            f"- {run.name}: {ratio:.2f}x bare ({'meets' if ratio >= TARGET_RATIO else 'misses'}"
            f" the {TARGET_RATIO:.2f}x goal); stored {run.stored_events} of"
            f" {run.counted_accepted} accepted events ({'none lost' if kept else 'MISMATCH'})."
        )
    body = "\n".join(
        [
            "## RUM ingest: `POST /rum/v1/{site_key}` vs a bare msgspec endpoint",
            "",
            f"`{command_line()}` — {started}; one run of {args.duration} s each,"
            f" {args.connections} connections, a {len(BEACON)}-byte beacon with"
            f" {EVENTS_PER_BEACON} events.",
            "",
            f"Machine: {machine}. wrk {wrk_version()}; "
            + ", ".join(f"{k} {v}" for k, v in versions("litestar", "uvicorn", "msgspec").items()),
            "",
            "Vigil: metrics on, 20 % of traces to a closed OTLP port, JSON logs at INFO; the"
            " per-site rate limit raised for the run; SQLite. Bare: Litestar `@post` decoding"
            " the same beacon with `app.rum.schemas.decode_beacon`, answering 204.",
            "",
            table,
            "",
            *verdicts,
            "",
            "wrk does not count requests still in flight when it stops, so its 202 count can be"
            " a few beacons below the server's `accepted` counter; the counter is what must"
            " match the database.",
        ]
    )
    rewrite_doc_section("rum_ingest", body)
    print(body)


if __name__ == "__main__":
    main()
