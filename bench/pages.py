"""Dashboard pages: each page's server time with a month of seeded data.

    .venv/bin/python -m bench.pages [--db sqlite|postgresql|both] [--loads 30] [--days 30]

Seeds through each domain's tables as ``bench.alerts`` does (RUM aggregates through
``write_deltas`` and today's window build, one health check per service per minute, hourly
task runs), adds alert
rules and runs the evaluator for a few ticks (alert series and transitions: the history the
alert pages read), then times every dashboard page through the real ASGI app (Litestar test
client, logged in as an admin: auth, queries and template). Figures go to
docs/performance.md.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from app.alerts.evaluator import Evaluator
from app.alerts.models import AlertRule, AlertSeries, AlertTransition
from app.config import DatabaseSettings
from app.db import migrate
from app.db.engine import create_engine, create_session_factory
from app.rum.aggregates import build_windows
from app.telemetry import VigilMetrics
from bench._harness import markdown_table, progress
from bench._in_process import (
    app_settings,
    in_process_parser,
    p95,
    report_header,
    run_on_databases,
    signed_in_client,
)
from bench.alerts import (
    NOW,
    Seeded,
    add_rules,
    add_seed_arguments,
    rule_inputs,
    scrapes,
    seed,
)

GOAL_MS = 150.0


@dataclass
class Measured:
    seeded: Seeded
    history: dict[str, int]
    timings: dict[str, list[float]]
    """Milliseconds per page path."""
    statuses: dict[str, int]


def page_paths(seeded: Seeded, rule_id: int) -> list[str]:
    site, service = seeded.sites[0], seeded.services[0]
    return [
        "/",
        "/http",
        f"/vitals?site={site}&range=1",
        f"/vitals?site={site}&range=30",
        "/vitals/sites",
        f"/vitals/sites/{site}",
        "/services",
        f"/services/{service}?range=24h",
        f"/services/{service}?range=30d",
        "/tasks",
        "/alerts",
        f"/alerts/rules/{rule_id}",
        "/alerts/silences",
        "/alerts/maintenance",
        "/admin",
        "/admin/channels",
        "/admin/notifications",
    ]


async def alert_history(url: str, seeded: Seeded, args: argparse.Namespace) -> dict[str, int]:
    """Rules, then evaluator ticks one minute apart: series go pending, fire, resolve."""
    engine = create_engine(DatabaseSettings(url=url))
    sessions = create_session_factory(engine)
    rng = random.Random(7)
    await add_rules(sessions, rule_inputs(seeded, args.rules, rng))
    evaluator = Evaluator(
        sessions,
        app_settings(url),
        metrics=VigilMetrics(CollectorRegistry()),
        scrapes=scrapes(seeded.services, rng),
    )
    for tick in range(args.ticks):
        await evaluator.tick(NOW - timedelta(minutes=args.ticks - tick))
    async with sessions() as session:
        counts = {
            "alert_rules": await session.scalar(select(func.count()).select_from(AlertRule)),
            "alert_series": await session.scalar(select(func.count()).select_from(AlertSeries)),
            "firing": await session.scalar(
                select(func.count()).select_from(AlertSeries).where(AlertSeries.state == "firing")
            ),
            "alert_transitions": await session.scalar(
                select(func.count()).select_from(AlertTransition)
            ),
        }
    await engine.dispose()
    return {name: int(value or 0) for name, value in counts.items()}


async def time_pages(url: str, paths: list[str], loads: int) -> tuple[dict[str, Any], ...]:
    timings: dict[str, list[float]] = {}
    statuses: dict[str, int] = {}
    async with signed_in_client(url, role="admin") as client:
        gc.freeze()  # as `vigil serve` does once started
        for path in paths:
            for _ in range(3):  # warm-up
                statuses[path] = (await client.get(path)).status_code
            if statuses[path] != 200:
                progress(f"{path}: HTTP {statuses[path]}, not timed")
                continue
            samples = []
            for _ in range(loads):
                started = time.perf_counter()
                response = await client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code}")
            timings[path] = samples
            progress(f"{path}: p95 {p95(samples):.1f} ms")
    return timings, statuses


async def measure(url: str, args: argparse.Namespace) -> Measured:
    engine = create_engine(DatabaseSettings(url=url))
    await migrate.upgrade(engine)
    sessions = create_session_factory(engine)
    seeded = await seed(sessions, args)
    await build_windows(sessions, now=NOW)  # the RUM job that the pages' 7/30-day ranges read
    await engine.dispose()
    history = await alert_history(url, seeded, args)
    progress(f"alert history: {history}")
    engine = create_engine(DatabaseSettings(url=url))
    async with create_session_factory(engine)() as session:
        rule_id = await session.scalar(select(func.min(AlertRule.id)))
    await engine.dispose()
    timings, statuses = await time_pages(url, page_paths(seeded, int(rule_id or 0)), args.loads)
    return Measured(seeded=seeded, history=history, timings=timings, statuses=statuses)


def report(args: argparse.Namespace, results: dict[str, Measured]) -> str:
    rows = []
    for database, measured in results.items():
        for path, status in measured.statuses.items():
            samples = measured.timings.get(path)
            if samples is None:
                rows.append([database, f"`{path}`", f"HTTP {status}", "", "", ""])
                continue
            rows.append(
                [
                    database,
                    f"`{path}`",
                    f"{statistics.median(samples):.1f}",
                    f"**{p95(samples):.1f}**",
                    f"{max(samples):.1f}",
                    "yes" if p95(samples) <= GOAL_MS else "**no**",
                ]
            )
    data_rows = [
        [
            database,
            f"{m.seeded.counts.get('rum_vitals_daily', 0):,}",
            f"{m.seeded.counts.get('service_checks', 0):,}",
            f"{m.seeded.counts.get('task_runs', 0):,}",
            f"{m.history['alert_rules']:,}",
            f"{m.history['alert_series']:,} ({m.history['firing']:,} firing)",
            f"{m.history['alert_transitions']:,}",
        ]
        for database, m in results.items()
    ]
    sqlite = results.get("sqlite")
    worst = max((p95(t) for t in sqlite.timings.values()), default=0.0) if sqlite else 0.0
    untimed = [p for p, s in sqlite.statuses.items() if s != 200] if sqlite else []
    verdict = (
        f"Goal: p95 server time of every page ≤ {GOAL_MS:.0f} ms on SQLite — "
        f"**{'met' if worst <= GOAL_MS and not untimed else 'NOT met'}** "
        f"(slowest page: p95 {worst:.1f} ms"
        + (f"; not timed: {', '.join(untimed)}" if untimed else "")
        + ")."
        if sqlite
        else ""
    )
    header = report_header("sqlalchemy", "aiosqlite", "asyncpg", "litestar", "jinja2")
    timing_table = markdown_table(
        ["database", "page", "p50", "p95", "max", f"p95 ≤ {GOAL_MS:.0f} ms"], rows, "llrrrl"
    )
    data_table = markdown_table(
        [
            "database",
            "rum_vitals_daily",
            "service_checks",
            "task_runs",
            "rules",
            "alert series",
            "transitions",
        ],
        data_rows,
        "lrrrrrr",
    )
    return f"""## Dashboard pages

{header}

Data: {args.days} days of {args.sites} sites x {args.pages} pages (RUM aggregates written through
`write_deltas`, then today's window build), {args.services} services checked every minute,
{args.tasks_per_service} hourly tasks per service, {args.rules} alert rules evaluated
{args.ticks} times one minute apart (series and transitions). Each page is loaded {args.loads}
times after 3 warm-up loads, in one process through the ASGI app (Litestar test client, logged
in as an admin: session auth, queries, template), no server. Milliseconds.

{data_table}

{timing_table}

{verdict}
"""


def main() -> None:
    parser = in_process_parser(__doc__, db="sqlite")
    parser.add_argument("--loads", type=int, default=30)
    add_seed_arguments(parser)
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=5)
    run_on_databases(parser.parse_args(), measure, report, section="pages")


if __name__ == "__main__":
    main()
