"""Soak: minutes of mixed, rate-bounded load on a real `vigil serve`, with the server's memory,
open file descriptors and TCP connections sampled throughout; they must stay flat.

    .venv/bin/python -m bench.soak [--minutes 10] [--db sqlite|postgresql] [--pg-dsn DSN]

The server is ``python -m app serve`` (uvicorn, as shipped; tracing off, JSON logs at INFO)
pinned to CPU 1 with ``taskset``; this process, pinned to CPU 0, sends at fixed rates:

* beacons (``--beacons-per-second``, default 50) for 40 pages x 4 device widths, 1-5 events;
* task pings (2/s): start/end pairs with a ``rid``, plain successes, one failure in ten;
* dashboard pages (one every 2 s) as a logged-in admin, cycling through every page;
* a live-update stream (``/ui/events``) opened every 20 s and dropped after 5 s;

while the scheduler works with short intervals: the default alert rules evaluated every 5 s
(task failures make one fire and resolve), a registered service (Vigil's own ``/healthz``
and ``/metrics``) checked and scraped every 10 s, overdue checks, notification dispatch,
window builds. Requests in flight are capped (``MAX_IN_FLIGHT`` per stream), so a slow
server lowers the achieved rate instead of piling up connections.

Every ``--sample-seconds`` (5) it reads ``/proc/PID/status`` (VmRSS), counts
``/proc/PID/fd`` and, of those, the TCP sockets per state (``/proc/PID/net/tcp{,6}``).
Verdict, after a warm-up of the first 10 % of the run: the median of the last quarter of
the samples is within 10 % of the median of the first quarter for RSS, and within 10 % or
5 (whichever is larger: small counts move with the load's own connections) for fds and
established TCP connections. The slope of RSS over the samples after warm-up is shown too.
After the run the server gets SIGTERM and the stored Web Vitals events must equal the
events the beacons got 202 for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._harness import (
    LOAD_CPU,
    PG_ADMIN_DSN,
    SERVER_CPU,
    BenchError,
    command_line,
    cpu_model,
    free_port,
    markdown_table,
    now_utc,
    pinned_server,
    progress,
    rewrite_doc_section,
    scratch_database,
    versions,
)

SITE_KEY = "soak0123456789ab"
ORIGIN = "https://shop.example.com"
PING_TOKEN = "soaktoken" + "0" * 23
ADMIN_EMAIL = "soak@example.com"
ADMIN_PASSWORD = "soak password 123"
MAX_IN_FLIGHT = 16
"""Requests in flight per load stream; past it the stream waits (and its rate drops)."""
WARMUP_SHARE = 0.10
GROWTH_LIMIT = 0.10
COUNT_ALLOWANCE = 5
TASKS = [f"job-{n}" for n in range(8)]
PAGES = [f"/shop/{section}/{n}" for section in ("list", "item", "cart", "help") for n in range(10)]
WIDTHS = [390, 820, 1280, None]
METRICS = {"LCP": 2500.0, "INP": 200.0, "CLS": 0.1, "FCP": 1800.0, "TTFB": 800.0}


def positive_float(low: float, high: float) -> Callable[[str], float]:
    """An argparse ``type`` accepting numbers from ``low`` to ``high``."""

    def parse(text: str) -> float:
        value = float(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low:g}..{high:g}, got {value:g}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=positive_float(0.5, 120), default=10.0)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-dsn", default=PG_ADMIN_DSN, help="an admin DSN (creates a DB)")
    parser.add_argument("--beacons-per-second", type=positive_float(1, 500), default=50.0)
    parser.add_argument("--sample-seconds", type=positive_float(1, 60), default=5.0)
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class Sample:
    at: float
    """Seconds since the load started."""
    rss_kb: int
    fds: int
    tcp: dict[str, int]
    """TCP sockets of the process by state (``ESTABLISHED``, ``LISTEN``, ...)."""

    @property
    def established(self) -> int:
        return self.tcp.get("ESTABLISHED", 0)


TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}
_SOCKET_LINK = re.compile(r"socket:\[(\d+)\]")


def sample_process(pid: int, *, at: float, proc: Path = Path("/proc")) -> Sample:
    """RSS, open fds and TCP sockets by state of process ``pid``, from ``/proc``."""
    rss_kb = 0
    for line in (proc / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    inodes: set[str] = set()
    fds = 0
    for entry in (proc / str(pid) / "fd").iterdir():
        fds += 1
        with contextlib.suppress(OSError):  # an fd closed while we look
            match = _SOCKET_LINK.fullmatch(os.readlink(entry))
            if match:
                inodes.add(match[1])
    tcp: dict[str, int] = {}
    for table in ("tcp", "tcp6"):
        path = proc / str(pid) / "net" / table
        with contextlib.suppress(OSError):
            for row in path.read_text().splitlines()[1:]:
                fields = row.split()
                if len(fields) > 9 and fields[9] in inodes:
                    state = TCP_STATES.get(fields[3], fields[3])
                    tcp[state] = tcp.get(state, 0) + 1
    return Sample(at=at, rss_kb=rss_kb, fds=fds, tcp=tcp)


# --------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Flatness:
    name: str
    first: float
    last: float
    limit: float

    @property
    def flat(self) -> bool:
        return self.last <= self.limit

    @property
    def change(self) -> float:
        return (self.last - self.first) / self.first if self.first else 0.0


def after_warmup(samples: Sequence[Sample], *, duration: float) -> list[Sample]:
    return [s for s in samples if s.at >= duration * WARMUP_SHARE]


def flatness(samples: Sequence[Sample], *, duration: float) -> list[Flatness]:
    """First- vs last-quarter medians (after warm-up) of RSS, fds and established TCP."""
    kept = after_warmup(samples, duration=duration)
    if len(kept) < 4:
        raise BenchError(f"only {len(kept)} samples after warm-up: run longer")
    quarter = max(1, len(kept) // 4)
    first, last = kept[:quarter], kept[-quarter:]
    measures: list[tuple[str, Callable[[Sample], float], float]] = [
        ("RSS (MB)", lambda s: s.rss_kb / 1024, 0.0),
        ("open fds", lambda s: s.fds, COUNT_ALLOWANCE),
        ("TCP established", lambda s: s.established, COUNT_ALLOWANCE),
    ]
    found = []
    for name, value, allowance in measures:
        a = statistics.median(value(s) for s in first)
        b = statistics.median(value(s) for s in last)
        found.append(Flatness(name, a, b, max(a * (1 + GROWTH_LIMIT), a + allowance)))
    return found


def rss_slope_mb_per_minute(samples: Sequence[Sample], *, duration: float) -> float:
    """Least-squares slope of RSS over the samples after warm-up."""
    kept = after_warmup(samples, duration=duration)
    if len(kept) < 2:
        return 0.0
    slope = statistics.linear_regression([s.at for s in kept], [s.rss_kb for s in kept]).slope
    return slope * 60 / 1024


# --------------------------------------------------------------------------- load


@dataclass
class Stream:
    """One kind of request sent at a fixed rate; what came back."""

    name: str
    per_second: float
    ok: set[int]
    sent: int = 0
    good: int = 0
    bad: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)

    def record(self, outcome: int | str, started: float) -> None:
        self.sent += 1
        self.latencies_ms.append((time.monotonic() - started) * 1000)
        if outcome in self.ok:
            self.good += 1
        else:
            self.bad[str(outcome)] = self.bad.get(str(outcome), 0) + 1

    def p99_ms(self) -> float:
        if len(self.latencies_ms) < 2:
            return 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[98]


async def paced(stream: Stream, until: float, send: Callable[[int], Awaitable[int | str]]) -> None:
    """Call ``send(n)`` ``stream.per_second`` times a second until ``until`` (monotonic),
    with at most :data:`MAX_IN_FLIGHT` calls running."""
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    running: set[asyncio.Task[None]] = set()
    interval = 1 / stream.per_second
    next_at = time.monotonic()
    n = 0

    async def one(number: int) -> None:
        started = time.monotonic()
        try:
            outcome = await send(number)
        except Exception as exc:  # counted as a failure of this stream
            outcome = type(exc).__name__
        finally:
            gate.release()
        stream.record(outcome, started)

    while (now := time.monotonic()) < until:
        if next_at > now:
            await asyncio.sleep(next_at - now)
        await gate.acquire()
        task = asyncio.create_task(one(n))
        running.add(task)
        task.add_done_callback(running.discard)
        n += 1
        next_at += interval
        next_at = max(next_at, time.monotonic() - 1)  # no burst to catch up after a stall
    await asyncio.gather(*running)


def beacon_body(rng: random.Random) -> tuple[bytes, int]:
    names = rng.sample(sorted(METRICS), rng.randint(1, 5))
    events = [
        {"name": name, "value": round(METRICS[name] * rng.uniform(0.2, 2.0), 3)} for name in names
    ]
    body: dict[str, Any] = {"page": rng.choice(PAGES), "events": events}
    width = rng.choice(WIDTHS)
    if width is not None:
        body["vw"] = width
    return json.dumps(body).encode(), len(events)


@dataclass
class Load:
    url: str
    site_id: int
    service_id: int
    beacons_per_second: float
    streams: dict[str, Stream] = field(default_factory=dict)
    events_accepted: int = 0

    def __post_init__(self) -> None:
        self.streams = {
            "beacons": Stream("beacons", self.beacons_per_second, {202}),
            "pings": Stream("pings", 2.0, {200}),
            "pages": Stream("pages", 0.5, {200}),
            "live streams": Stream("live streams", 0.05, {200}),
        }

    def page_paths(self) -> list[str]:
        site, service = self.site_id, self.service_id
        return [
            "/",
            "/http",
            f"/vitals?site={site}&range=1",
            f"/vitals?site={site}&range=7",
            "/vitals/sites",
            f"/vitals/sites/{site}",
            "/services",
            f"/services/{service}?range=24h",
            "/tasks",
            "/alerts",
            "/alerts/silences",
            "/alerts/maintenance",
            "/admin",
            "/admin/channels",
            "/admin/notifications",
        ]

    async def run(self, *, seconds: float) -> None:
        import httpx

        until = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=8)
        rng = random.Random(7)
        async with (
            httpx.AsyncClient(base_url=self.url, timeout=15, limits=limits) as public,
            httpx.AsyncClient(base_url=self.url, timeout=15, limits=limits) as admin,
        ):
            await log_in(admin)
            beacon_headers = {
                "Origin": ORIGIN,
                "Content-Type": "text/plain;charset=UTF-8",
                "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36",
            }

            async def beacon(_n: int) -> int:
                body, events = beacon_body(rng)
                answer = await public.post(
                    f"/rum/v1/{SITE_KEY}", content=body, headers=beacon_headers
                )
                if answer.status_code == 202:
                    self.events_accepted += events
                return answer.status_code

            open_runs: dict[str, str] = {}

            async def ping(n: int) -> int:
                task = TASKS[n % len(TASKS)]
                base = f"/ping/{PING_TOKEN}/{task}"
                if task == TASKS[0]:  # start / end pairs with a run id
                    rid = open_runs.pop(task, None)
                    if rid is None:
                        rid = open_runs[task] = f"{n:08d}-0000-4000-8000-000000000000"
                        return (await public.get(f"{base}/start?rid={rid}")).status_code
                    return (await public.get(f"{base}?rid={rid}")).status_code
                if task == TASKS[1] and n % 80 == 1:  # fails now and then: an alert fires
                    return (await public.post(f"{base}/fail", content=b"exit 1")).status_code
                return (await public.post(base, content=b"ok " * 20)).status_code

            paths = self.page_paths()

            async def page(n: int) -> int:
                return (await admin.get(paths[n % len(paths)])).status_code

            async def live(_n: int) -> int:
                async with admin.stream("GET", "/ui/events") as answer:
                    with contextlib.suppress(asyncio.TimeoutError):
                        async with asyncio.timeout(5):
                            async for _ in answer.aiter_bytes():
                                pass
                    return answer.status_code

            senders = {"beacons": beacon, "pings": ping, "pages": page, "live streams": live}
            await asyncio.gather(
                *(paced(self.streams[name], until, send) for name, send in senders.items())
            )


async def log_in(client: Any) -> None:
    page = await client.get("/login")
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    if not match:
        raise BenchError(f"no CSRF token on /login ({page.status_code})")
    answer = await client.post(
        "/login",
        data={
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "next": "",
            "_csrf_token": match[1],
        },
        follow_redirects=False,
    )
    if answer.status_code != 303:
        raise BenchError(f"login answered {answer.status_code}: {answer.text[:300]}")


# --------------------------------------------------------------------------- database


async def prepare(url: str, *, self_url: str) -> tuple[int, int]:
    """Migrate; add the site the beacons go to and a service that is Vigil itself (checked
    and scraped every 10 s) whose token the pings use. Returns (site id, service id)."""
    from app.config import DatabaseSettings
    from app.db import migrate
    from app.db.engine import create_engine, create_session_factory
    from app.rum.models import Site
    from app.services.models import Service

    engine = create_engine(DatabaseSettings(url=url))
    try:
        await migrate.upgrade(engine)
        async with create_session_factory(engine).begin() as session:
            site = Site(name="Soak shop", key=SITE_KEY, allowed_origins=[ORIGIN], page_cap=500)
            service = Service(
                name="vigil-itself",
                base_url=self_url,
                health_path="/healthz",
                metrics_path="/metrics",
                interval_seconds=10,
                ping_token=PING_TOKEN,
            )
            session.add_all([site, service])
            await session.flush()
            return site.id, service.id
    finally:
        await engine.dispose()


async def database_counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from app.config import DatabaseSettings
    from app.db.engine import create_engine

    queries = {
        "events": "SELECT COALESCE(SUM(n), 0) FROM rum_vitals_daily",
        "task_runs": "SELECT count(*) FROM task_runs",
        "service_checks": "SELECT count(*) FROM service_checks",
        "alert_transitions": "SELECT count(*) FROM alert_transitions",
    }
    engine = create_engine(DatabaseSettings(url=url))
    try:
        async with engine.connect() as conn:
            return {name: int(await conn.scalar(text(sql)) or 0) for name, sql in queries.items()}
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- the run


@dataclass
class Result:
    samples: list[Sample]
    load: Load
    duration: float
    counts: dict[str, int]
    load_start: tuple[float, float]
    load_end: tuple[float, float]


async def sample_while(
    pid: int, *, every: float, started: float, done: asyncio.Event, into: list[Sample]
) -> None:
    while not done.is_set():
        into.append(sample_process(pid, at=time.monotonic() - started))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=every)


def server_env(url: str, port: int) -> dict[str, str]:
    return {
        "VIGIL_CONFIG": "",
        "VIGIL_SERVER__PORT": str(port),
        "VIGIL_SERVER__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "VIGIL_DATABASE__URL": url,
        "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
        "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VIGIL_TELEMETRY__TRACING__ENABLED": "false",
        "VIGIL_ALERTS__EVAL_INTERVAL_SECONDS": "5",
        "VIGIL_TASKS__CHECK_INTERVAL_SECONDS": "5",
        "VIGIL_NOTIFY__DISPATCH_INTERVAL_SECONDS": "5",
        "VIGIL_SERVICES__JOB_INTERVAL_SECONDS": "2",
    }


def soak(args: argparse.Namespace, url: str, workdir: Path) -> Result:
    port = free_port()
    site_id, service_id = asyncio.run(prepare(url, self_url=f"http://127.0.0.1:{port}"))
    argv = [sys.executable, "-m", "app", "serve"]
    duration = args.minutes * 60
    load = Load(f"http://127.0.0.1:{port}", site_id, service_id, args.beacons_per_second)
    samples: list[Sample] = []
    load_start = os.getloadavg()[:2]
    log = workdir / "vigil.log"
    with pinned_server(
        argv, port=port, ready_path="/healthz", log_path=log, env=server_env(url, port)
    ) as server:
        progress(f"server pid {server.process.pid}; {args.minutes:g} min of load")

        async def run() -> None:
            done = asyncio.Event()
            started = time.monotonic()
            sampler = asyncio.create_task(
                sample_while(
                    server.process.pid,
                    every=args.sample_seconds,
                    started=started,
                    done=done,
                    into=samples,
                )
            )
            reporter = asyncio.create_task(_report_progress(samples, load))
            try:
                await load.run(seconds=duration)
            finally:
                done.set()
                reporter.cancel()
                await sampler

        asyncio.run(run())
        if server.process.poll() is not None:
            raise BenchError(f"the server died during the soak:\n{server.log_tail()}")
        load_end = os.getloadavg()[:2]
    counts = asyncio.run(database_counts(url))
    return Result(samples, load, duration, counts, load_start, load_end)


async def _report_progress(samples: list[Sample], load: Load) -> None:
    while True:
        await asyncio.sleep(60)
        if samples:
            s = samples[-1]
            sent = ", ".join(f"{st.name} {st.sent}" for st in load.streams.values())
            progress(
                f"{s.at / 60:.0f} min: RSS {s.rss_kb / 1024:.1f} MB, {s.fds} fds,"
                f" {s.established} TCP established; sent {sent}"
            )


# --------------------------------------------------------------------------- report


def minute_rows(samples: Sequence[Sample]) -> list[list[str]]:
    """One row per minute of the run: the medians of its samples."""
    by_minute: dict[int, list[Sample]] = {}
    for sample in samples:
        by_minute.setdefault(int(sample.at // 60), []).append(sample)
    return [
        [
            f"{minute}-{minute + 1}",
            f"{statistics.median(s.rss_kb for s in group) / 1024:.1f}",
            f"{statistics.median(s.fds for s in group):.0f}",
            f"{statistics.median(s.established for s in group):.0f}",
            f"{statistics.median(sum(s.tcp.values()) for s in group):.0f}",
        ]
        for minute, group in sorted(by_minute.items())
    ]


def report(args: argparse.Namespace, result: Result, *, started: str) -> str:
    checks = flatness(result.samples, duration=result.duration)
    slope = rss_slope_mb_per_minute(result.samples, duration=result.duration)
    load = result.load
    stream_rows = [
        [
            stream.name,
            f"{stream.per_second:g}",
            f"{stream.sent / result.duration:.2f}",
            str(stream.sent),
            str(stream.good),
            ", ".join(f"{k}: {v}" for k, v in sorted(stream.bad.items())) or "none",
            f"{statistics.median(stream.latencies_ms):.1f}" if stream.latencies_ms else "",
            f"{stream.p99_ms():.1f}",
        ]
        for stream in load.streams.values()
    ]
    flat_rows = [
        [
            check.name,
            f"{check.first:.1f}",
            f"{check.last:.1f}",
            f"{check.change * 100:+.1f} %",
            f"≤ {check.limit:.1f}",
            "flat" if check.flat else "**grew**",
        ]
        for check in checks
    ]
    all_flat = all(check.flat for check in checks)
    stored = result.counts["events"]
    kept = stored == load.events_accepted
    failures = sum(sum(stream.bad.values()) for stream in load.streams.values())
    warmup = result.duration * WARMUP_SHARE
    machine = (
        f"{os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}, Python"
        f" {platform.python_version()}; server pinned to CPU {SERVER_CPU}, load generator to"
        f" CPU {LOAD_CPU}; load average {result.load_start[0]:.2f} / {result.load_start[1]:.2f}"
        f" at the start, {result.load_end[0]:.2f} / {result.load_end[1]:.2f} at the end"
        " (1 / 5 min)"
    )
    return "\n".join(
        [
            "## Soak: mixed load with memory, fds and connections sampled",
            "",
            f"`{command_line()}` — {started}; {args.minutes:g} min on {args.db}, a sample"
            f" every {args.sample_seconds:g} s ({len(result.samples)} samples).",
            "",
            f"Machine: {machine}. "
            + ", ".join(
                f"{k} {v}" for k, v in versions("litestar", "uvicorn", "sqlalchemy").items()
            ),
            "",
            "Server: `python -m app serve` as shipped but for tracing off and short job"
            " intervals (alert evaluation, overdue checks and dispatch every 5 s; its own"
            " `/healthz` and `/metrics` registered as a service, checked and scraped every"
            " 10 s). Load at fixed rates, at most"
            f" {MAX_IN_FLIGHT} requests in flight per stream: beacons (1-5 events, 40 pages,"
            " 4 devices), task pings (start/end pairs, successes, a failure every 80th so an"
            " alert fires and resolves), dashboard pages as a logged-in admin (15 pages in"
            " turn), a live-update stream opened every 20 s for 5 s.",
            "",
            markdown_table(
                [
                    "stream",
                    "target /s",
                    "achieved /s",
                    "sent",
                    "expected status",
                    "other answers",
                    "p50 ms",
                    "p99 ms",
                ],
                stream_rows,
                align="lrrrrlrr",
            ),
            "",
            "Server process per minute (medians of the samples; TCP: its own sockets from"
            " `/proc/PID/net/tcp`, established and all states incl. the listener):",
            "",
            markdown_table(
                ["minute", "RSS MB", "open fds", "TCP established", "TCP all"],
                minute_rows(result.samples),
                align="lrrrr",
            ),
            "",
            f"Flatness after a {warmup:.0f} s warm-up: median of the last quarter of the samples"
            f" vs the first quarter; limit +{GROWTH_LIMIT:.0%} (counts: +{GROWTH_LIMIT:.0%} or"
            f" +{COUNT_ALLOWANCE}, whichever is larger).",
            "",
            markdown_table(
                ["measure", "first quarter", "last quarter", "change", "limit", "verdict"],
                flat_rows,
                align="lrrrrl",
            ),
            "",
            f"Goal: RSS, open fds and TCP connections flat — **{'met' if all_flat else 'NOT met'}**"
            f" (RSS slope after warm-up {slope:+.2f} MB/min).",
            "",
            f"- Web Vitals: {load.events_accepted} events answered 202, {stored} stored after"
            f" SIGTERM ({'none lost' if kept else 'MISMATCH'}).",
            f"- Written meanwhile: {result.counts['task_runs']} task runs,"
            f" {result.counts['service_checks']} service checks,"
            f" {result.counts['alert_transitions']} alert transitions;"
            f" {failures} requests with an unexpected answer.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, {LOAD_CPU})
    started = now_utc()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-soak-") as tmp:
        workdir = Path(tmp)
        if args.db == "sqlite":
            result = soak(args, f"sqlite+aiosqlite:///{workdir / 'soak.db'}", workdir)
        else:
            with scratch_database("postgresql", admin_dsn=args.pg_dsn) as url:
                result = soak(args, url, workdir)
    body = report(args, result, started=started)
    rewrite_doc_section("soak", body)
    print(body)


if __name__ == "__main__":
    main()
