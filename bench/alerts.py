"""Alert evaluation: one tick over 1,000 enabled rules of mixed non-PromQL signals.

    .venv/bin/python -m bench.alerts [--db sqlite|postgresql|both] [--rules 1000] [--ticks 10]

Seeds a month of data through each domain's tables (RUM aggregates through ``write_deltas``,
one health check per service per minute, hourly task runs), an in-memory scrape per service,
a webhook channel, and ``--rules`` rules (Web Vitals p75 per site or page over 1/7/30 days,
service down, latency p95, task failed / overdue, scraped metrics); then times the
evaluator's ticks: the first (every series new, firing ones notified into the outbox) and
the steady ones after it. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import gc
import random
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.samples import Sample as PromSample
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.evaluator import Evaluator, TickReport
from app.alerts.models import AlertRule, AlertSeries
from app.alerts.rules import validate_rule
from app.config import DatabaseSettings
from app.db import migrate
from app.db.engine import create_engine, create_session_factory
from app.notify.models import Channel, OutboxEntry
from app.rum.aggregates import write_deltas
from app.rum.deltas import DEVICES
from app.rum.histogram import METRICS
from app.rum.models import Site, VitalsDaily
from app.services import check_hours
from app.services.models import Service, ServiceCheck
from app.services.scrapes import Scrape, ScrapeStore
from app.tasks.models import Task, TaskRun
from app.telemetry import VigilMetrics
from bench._harness import markdown_table, progress
from bench._in_process import app_settings, in_process_parser, report_header, run_on_databases
from bench._seed import TYPICAL, day_deltas

NOW = datetime.now(UTC).replace(microsecond=0)
SIGNAL_SHARES = {
    "web_vital_p75": 0.30,
    "service_down": 0.15,
    "service_latency_p95": 0.20,
    "task_failed": 0.10,
    "task_overdue": 0.10,
    "scraped_metric": 0.15,
}
"""Share of the rules per signal (PromQL is left out: it is Prometheus' time, not Vigil's)."""
CHECK_BATCH = 20_000

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Seeded:
    sites: list[int]
    pages: list[str]
    services: list[int]
    tasks: dict[int, list[str]]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# --------------------------------------------------------------------------- seeding


async def seed(sessions: Sessions, args: argparse.Namespace) -> Seeded:
    started = time.perf_counter()
    rng = random.Random(42)
    pages = ["/"] + [f"/section-{i % 7}/page-{i}" for i in range(1, args.pages)]
    async with sessions.begin() as session:
        sites = [Site(name=f"site-{i}", key=secrets.token_hex(8)) for i in range(args.sites)]
        services = [
            Service(
                name=f"service-{i}",
                base_url=f"http://service-{i}.test",
                ping_token=secrets.token_hex(8),
                metrics_path="/metrics",
                state="down" if i % 10 == 0 else "up",
            )
            for i in range(args.services)
        ]
        session.add_all([*sites, *services])
        await session.flush()
        tasks = [
            Task(
                service_id=service.id,
                name=f"job-{j}",
                period_seconds=3600,
                status="failed" if (i + j) % 9 == 0 else "up",
                overdue_at=NOW - timedelta(minutes=5)
                if (i + j) % 11 == 0
                else NOW + timedelta(hours=1),
            )
            for i, service in enumerate(services)
            for j in range(args.tasks_per_service)
        ]
        session.add_all(tasks)
        session.add(
            Channel(
                name="bench",
                kind="webhook",
                config={"url": "http://127.0.0.1:9/", "secret": "s" * 32},
            )
        )
        await session.flush()
        site_ids = [site.id for site in sites]
        service_ids = [service.id for service in services]
        task_ids = [task.id for task in tasks]
        task_names: dict[int, list[str]] = {}
        for task in tasks:
            assert task.service_id is not None
            task_names.setdefault(task.service_id, []).append(task.name)

    for offset in range(args.days - 1, -1, -1):
        day = (NOW - timedelta(days=offset)).date()
        for site_id in site_ids:
            await write_deltas(sessions, day_deltas(rng, site_id, day, pages), now=NOW)
        progress(f"RUM day {day} written")

    checks = 0
    rows: list[dict[str, Any]] = []
    minutes = args.days * 24 * 60
    for service_index, service_id in enumerate(service_ids):
        base = 20 + 15 * (service_index % 8)
        for minute in range(minutes):
            rows.append(
                {
                    "service_id": service_id,
                    "checked_at": NOW - timedelta(minutes=minute),
                    "ok": True,
                    "status_code": 200,
                    "latency_ms": base * (1 + rng.random()),
                }
            )
            if len(rows) >= CHECK_BATCH:
                checks += await _insert(sessions, ServiceCheck, rows)
    checks += await _insert(sessions, ServiceCheck, rows)
    async with sessions.begin() as session:
        await check_hours.recount(session)
    progress(f"{checks:,} service checks written")

    runs: list[dict[str, Any]] = []
    run_count = 0
    for task_id in task_ids:
        for hour in range(args.days * 24):
            at = NOW - timedelta(hours=hour)
            runs.append(
                {
                    "task_id": task_id,
                    "status": "success" if rng.random() > 0.05 else "error",
                    "started_at": at - timedelta(seconds=30),
                    "ended_at": at,
                    "duration_seconds": 30.0,
                    "log": "",
                }
            )
            if len(runs) >= CHECK_BATCH:
                run_count += await _insert(sessions, TaskRun, runs)
    run_count += await _insert(sessions, TaskRun, runs)
    progress(f"{run_count:,} task runs written")

    async with sessions() as session:
        daily = await session.scalar(select(func.count()).select_from(VitalsDaily))
    return Seeded(
        sites=site_ids,
        pages=pages,
        services=service_ids,
        tasks=task_names,
        counts={"rum_vitals_daily": daily or 0, "service_checks": checks, "task_runs": run_count},
        seconds=time.perf_counter() - started,
    )


async def _insert(sessions: Sessions, model: Any, rows: list[dict[str, Any]]) -> int:
    """Executemany ``rows`` and empty the list; returns how many."""
    count = len(rows)
    if rows:
        async with sessions.begin() as session:
            await session.execute(insert(model), rows)
        rows.clear()
    return count


def scrapes(service_ids: Sequence[int], rng: random.Random) -> ScrapeStore:
    """A scrape per service: 200 request-counter series and a few gauges."""
    store = ScrapeStore()
    for service_id in service_ids:
        samples = [
            PromSample(
                "http_requests_total",
                {"code": code, "route": f"/route-{route}"},
                float(rng.randint(0, 10_000)),
            )
            for code in ("200", "201", "404", "500", "503")
            for route in range(40)
        ]
        samples += [
            PromSample("queue_depth", {"queue": q}, float(rng.randint(0, 100))) for q in "abcde"
        ]
        store.put(Scrape(service_id, NOW, tuple(samples), 0, None))
    return store


def rule_inputs(seeded: Seeded, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` raw rules, signals mixed by ``SIGNAL_SHARES``; roughly one in ten fires."""
    kinds = [kind for kind, share in SIGNAL_SHARES.items() for _ in range(round(share * count))]
    kinds = (kinds + ["service_down"] * count)[:count]
    rules = []
    for index, kind in enumerate(kinds):
        raw: dict[str, Any] = {"name": f"rule-{index:04d}-{kind}", "signal": kind}
        fire = rng.random() < 0.1
        service = rng.choice([None, *seeded.services]) if rng.random() < 0.3 else None
        if kind == "web_vital_p75":
            metric = rng.choice(METRICS)
            params: dict[str, Any] = {
                "metric": metric,
                "window_days": rng.choice((1, 7, 30)),
                "min_samples": 20,
            }
            if rng.random() < 0.7:
                params["site_id"] = rng.choice(seeded.sites)
                if rng.random() < 0.5:
                    params["page"] = rng.choice(seeded.pages)
            raw |= {"params": params, "threshold": TYPICAL[metric] * (0.2 if fire else 5)}
        elif kind == "service_down":
            raw |= {"params": {"service_id": service}, "threshold": 0}
        elif kind == "service_latency_p95":
            raw |= {
                "params": {"service_id": service, "window_seconds": rng.choice((300, 900, 3600))},
                "threshold": 50 if fire else 1000,
            }
        elif kind in ("task_failed", "task_overdue"):
            params = {"service_id": service}
            if service is not None and rng.random() < 0.5:
                params["task"] = rng.choice(seeded.tasks[service])
            raw |= {"params": params, "threshold": 0}
        else:
            raw |= {
                "params": {
                    "service_id": rng.choice(seeded.services),
                    "selector": rng.choice(
                        [
                            'http_requests_total{code=~"5.."}',
                            "queue_depth",
                            'http_requests_total{code="404"}',
                        ]
                    ),
                    "aggregation": rng.choice(("sum", "avg", "max", "count")),
                },
                "threshold": 0 if fire else 10_000_000,
            }
        raw["for"] = rng.choice(("0s", "0s", "1m", "5m"))
        rules.append(raw)
    return rules


async def add_rules(sessions: Sessions, raws: Sequence[dict[str, Any]]) -> None:
    rows = []
    for raw in raws:
        rule = validate_rule({"comparison": ">"} | raw)
        rows.append(
            {
                "name": rule.name,
                "signal": rule.signal,
                "params": rule.params,
                "comparison": rule.comparison,
                "threshold": rule.threshold,
                "for_seconds": rule.for_seconds,
                "keep_firing_for_seconds": rule.keep_firing_for_seconds,
                "severity": rule.severity,
                "labels": rule.labels,
                "annotations": {"summary": "{{ $labels.service }} at {{ $value }}"},
                "no_data": rule.no_data,
                "enabled": True,
                "channel_ids": [],
                "health": "unknown",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    async with sessions.begin() as session:
        await session.execute(insert(AlertRule), rows)


# --------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    seeded: Seeded
    first: TickReport
    steady: list[TickReport]
    by_signal: dict[str, tuple[int, float]]
    """Per signal: rules and the summed evaluation seconds of one steady tick."""
    series: Counter[str]
    outbox_rows: int


async def measure(url: str, args: argparse.Namespace) -> Measured:
    engine = create_engine(DatabaseSettings(url=url))
    await migrate.upgrade(engine)
    sessions = create_session_factory(engine)
    rng = random.Random(7)
    seeded = await seed(sessions, args)
    await add_rules(sessions, rule_inputs(seeded, args.rules, rng))
    evaluator = Evaluator(
        sessions,
        app_settings(url),
        metrics=VigilMetrics(CollectorRegistry()),
        scrapes=scrapes(seeded.services, rng),
    )
    gc.freeze()  # as app.main does once started: full collections skip the start-up heap
    first = await evaluator.tick(NOW)
    progress(f"first tick: {first.seconds * 1000:.0f} ms, {first.transitions} transitions")
    steady = []
    for tick in range(1, args.ticks + 1):
        steady.append(await evaluator.tick(NOW + timedelta(seconds=30 * tick)))
        progress(f"tick {tick}: {steady[-1].seconds * 1000:.0f} ms")
    async with sessions() as session:
        per_signal = (
            await session.execute(
                select(
                    AlertRule.signal, func.count(), func.sum(AlertRule.last_evaluation_seconds)
                ).group_by(AlertRule.signal)
            )
        ).all()
        states = (
            await session.execute(
                select(AlertSeries.state, func.count()).group_by(AlertSeries.state)
            )
        ).all()
        outbox_rows = await session.scalar(select(func.count()).select_from(OutboxEntry))
    await engine.dispose()
    return Measured(
        seeded=seeded,
        first=first,
        steady=steady,
        by_signal={signal: (n, seconds or 0.0) for signal, n, seconds in per_signal},
        series=Counter({state: n for state, n in states}),
        outbox_rows=outbox_rows or 0,
    )


# --------------------------------------------------------------------------- report


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def report(args: argparse.Namespace, results: dict[str, Measured]) -> str:
    tick_rows = []
    for database, m in results.items():
        steady = [r.seconds for r in m.steady]
        tick_rows.append(
            [
                database,
                f"{m.first.rules:,}",
                f"{ms(m.first.seconds)} ({m.first.transitions:,} transitions)",
                ms(statistics.median(steady)),
                f"**{ms(max(steady))}**",
                ", ".join(f"{state} {n:,}" for state, n in sorted(m.series.items())),
                f"{m.outbox_rows:,}",
            ]
        )
    signal_rows = [
        [database, signal, f"{n:,}", f"{seconds * 1000:.0f}", f"{seconds / n * 1e6:.0f}"]
        for database, m in results.items()
        for signal, (n, seconds) in sorted(m.by_signal.items())
    ]
    sqlite = results.get("sqlite")
    verdict = ""
    if sqlite:
        worst = max(r.seconds for r in sqlite.steady)
        verdict = (
            f"Goal: one tick of {args.rules:,} rules ≤ 1 s on SQLite — "
            f"**{'met' if worst <= 1.0 else 'NOT met'}** for the steady ticks (slowest "
            f"{ms(worst)} ms). The very first tick, which creates every series and notifies "
            f"{sqlite.first.transitions:,} transitions at once (a one-off, e.g. right after "
            f"importing {args.rules:,} rules), took {ms(sqlite.first.seconds)} ms."
        )
    any_seeded = next(iter(results.values())).seeded
    header = report_header("sqlalchemy", "aiosqlite", "asyncpg")
    counts = ", ".join(f"{name} {n:,}" for name, n in any_seeded.counts.items())
    ticks = markdown_table(
        [
            "database",
            "rules",
            "first tick ms",
            "steady tick p50 ms",
            "steady tick max ms",
            "series after",
            "outbox rows",
        ],
        tick_rows,
        "lrrrrll",
    )
    signals = markdown_table(
        ["database", "signal", "rules", "ms per tick", "µs per rule"], signal_rows, "llrrr"
    )
    shares = ", ".join(f"{kind} {share:.0%}" for kind, share in SIGNAL_SHARES.items())
    return f"""## Alert evaluation

{header}

Data: a month ({args.days} days) of {args.sites} sites x {args.pages} pages x 5 metrics x
{len(DEVICES)} devices of RUM aggregates, {args.services} services checked every minute,
{args.tasks_per_service} hourly tasks per service, one in-memory scrape per service (205 series);
{counts}. Rules: {args.rules:,} enabled ({shares}; none PromQL), parameters drawn at random
(Web Vitals per site or per page over 1, 7 or 30 days; 30 % of the others for one service),
about one in ten set to fire, `for` 0 s to 5 min, one webhook channel. Timed: the evaluator's
first tick (every series new, firing ones notified into the outbox), then {args.ticks} steady
ticks 30 s of clock apart, in one process, no server, the start-up heap frozen
(`gc.freeze()`) as `vigil serve` does.

{ticks}

{verdict}

Time per signal in one steady tick (the sum of the rules' `last_evaluation_seconds`; rules on
the same data share one query per tick, so the first rule of a kind carries it):

{signals}
"""


def add_seed_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments :func:`seed` reads: how much data a month of use leaves."""
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--tasks-per-service", type=int, default=5)


def main() -> None:
    parser = in_process_parser(__doc__, db="sqlite")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=10)
    add_seed_arguments(parser)
    run_on_databases(parser.parse_args(), measure, report, section="alerts")


if __name__ == "__main__":
    main()
