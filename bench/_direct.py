"""Time requests through one benchmark app's ASGI callable, in process (no server, no socket).

    python -m bench._direct --app vigil-on --requests '{"json": ["GET", "/healthz"]}' \
        --calls 2000 --rounds 7 --out result.json [--profile profile.pstats]

Writes ``{"name": [µs per request for each round], ...}`` as JSON to ``--out``. With
``--settle-tracing`` it first sends requests until the trace exporter has reported its
collector down (a closed port), so the figures are those of a server in that steady state.
With ``--profile`` it then runs ``--profile-calls`` more of each request under cProfile and dumps
the stats there (one stats file per request name: ``<profile>.<name>``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import time
from pathlib import Path

import uvloop
from litestar import Litestar

from bench._harness import AsgiRequest, asgi_caller, asgi_lifespan, time_asgi
from bench.apps import APP_NAMES, AppName, load_app

OUTAGE_TIMEOUT_SECONDS = 30.0


def parse_requests(raw: str) -> dict[str, AsgiRequest]:
    """``{"name": [method, path, body?]}`` → requests (body as a latin-1 string)."""
    return {
        name: AsgiRequest(spec[0], spec[1], spec[2].encode("latin-1") if len(spec) > 2 else b"")
        for name, spec in json.loads(raw).items()
    }


async def run(
    name: AppName,
    requests: dict[str, AsgiRequest],
    *,
    db_url: str,
    otlp_endpoint: str,
    calls: int,
    rounds: int,
    profile: Path | None,
    profile_calls: int,
    settle_tracing: bool = False,
) -> dict[str, list[float]]:
    app = load_app(name, db_url=db_url, otlp_endpoint=otlp_endpoint)
    async with asgi_lifespan(app):
        if settle_tracing:
            await wait_for_export_outage(app, next(iter(requests.values())))
        timings = await time_asgi(app, requests, calls=calls, rounds=rounds)
        if profile is None:
            return timings
        for request_name, request in requests.items():
            call = asgi_caller(app, request)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(profile_calls):
                await call()
            profiler.disable()
            profiler.dump_stats(f"{profile}.{request_name}")
    return timings


async def wait_for_export_outage(app: Litestar, request: AsgiRequest) -> None:
    """Send ``request`` until the trace exporter has noticed that its collector is down
    (its first export fails after the export timeout), as a long-running server has."""
    exporter = app.state.telemetry.tracing.exporter
    call = asgi_caller(app, request)
    deadline = time.monotonic() + OUTAGE_TIMEOUT_SECONDS
    while not exporter.failing:
        if time.monotonic() > deadline:
            raise SystemExit(f"no export outage reported in {OUTAGE_TIMEOUT_SECONDS} s")
        await call()
        await asyncio.sleep(0.001)  # let the exporter thread run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", choices=APP_NAMES, required=True)
    parser.add_argument("--requests", required=True)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db-url", default="")
    parser.add_argument("--otlp-endpoint", default="")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--profile-calls", type=int, default=300)
    parser.add_argument(
        "--settle-tracing",
        action="store_true",
        help="first wait until the exporter reports its (closed-port) collector down",
    )
    args = parser.parse_args()
    timings = uvloop.run(
        run(
            args.app,
            parse_requests(args.requests),
            db_url=args.db_url,
            otlp_endpoint=args.otlp_endpoint,
            calls=args.calls,
            rounds=args.rounds,
            profile=args.profile,
            profile_calls=args.profile_calls,
            settle_tracing=args.settle_tracing,
        )
    )
    args.out.write_text(json.dumps(timings))


if __name__ == "__main__":
    main()
