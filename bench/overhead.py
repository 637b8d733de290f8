"""What Vigil's telemetry costs per request: the same JSON endpoint and HTML page with
telemetry off and on, against a bare Litestar app, in one run.

    .venv/bin/python -m bench.overhead [--duration 4] [--connections 32] [--repeats 3]

Telemetry on, as shipped: Prometheus metrics, 20 % of traces exported over OTLP/HTTP to a
closed port, JSON logs at INFO with the default access log (5xx and slow requests), written
to a file, measured once the exporter has noticed the collector is down; further variants
export to a live collector (``bench._otlp_sink``) and log every request
(``access_log: all``). Each variant is
served by uvicorn (uvloop, httptools) pinned to CPU 1 and loaded by wrk pinned to CPU 0;
variants are interleaved (off, on, bare, off, ...) and the median run is reported. The µs a
request costs is measured separately by awaiting the ASGI app in process (also with one
telemetry part on at a time, to split the cost). Goal: telemetry on
keeps ≥ 0.90x the requests/s of telemetry off on both endpoints. If it does not, a cProfile
of the in-process loop names the functions that cost the most.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench._harness import (
    LOAD_CPU,
    PERFORMANCE_DOC,
    SERVER_CPU,
    BenchError,
    WrkResult,
    bounded_int,
    closed_port,
    command_line,
    expect_answer,
    free_port,
    http_request,
    machine_line,
    markdown_table,
    median,
    now_utc,
    pinned_server,
    progress,
    require_machine,
    rewrite_doc_section,
    run_wrk,
    versions,
    wrk_version,
)
from bench.apps import BARE_HTML_PATH, BARE_JSON_PATH, AppName, migrate_database

JSON_PATH = "/healthz"
"""Vigil's JSON endpoint: public, tiny body."""
HTML_PATH = "/login"
"""Vigil's HTML endpoint: a public page rendered from a Jinja template."""
HTML_FALLBACK_PATH = "/schema"
"""Used (and said so in the report) while ``HTML_PATH`` is not routed yet."""
TARGET_RATIO = 0.90
"""Telemetry on must keep at least this share of telemetry off's requests/s."""

VARIANTS: tuple[AppName, ...] = (
    "vigil-off",
    "vigil-on",
    "vigil-on-collector",
    "vigil-on-access-all",
    "bare",
)
LABELS: dict[AppName, str] = {
    "vigil-off": "Vigil, telemetry off",
    "vigil-on": "Vigil, telemetry on (as shipped)",
    "vigil-on-collector": "Vigil, telemetry on, traces to a live collector",
    "vigil-on-access-all": "Vigil, telemetry on + every request logged",
    "bare": "bare Litestar",
}
PARTS: tuple[AppName, ...] = ("vigil-metrics", "vigil-tracing", "vigil-logs")
"""Timed in process only: telemetry with one part switched on, to split the cost."""
PART_LABELS: dict[AppName, str] = {
    "vigil-metrics": "metrics only",
    "vigil-tracing": "tracing only (20 % sampled, closed port)",
    "vigil-logs": "logs only (INFO + every request in the access log)",
}
SECTION = "overhead"
PROFILE_CALLS = 300
"""Requests per endpoint run under cProfile (enough to rank per-request costs)."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    vigil_path: str
    bare_path: str
    content_type: str

    def path(self, variant: AppName) -> str:
        return self.bare_path if variant == "bare" else self.vigil_path


@dataclass
class Setup:
    db_url: str
    otlp_endpoint: str
    """A closed port: the collector is down."""
    collector_endpoint: str
    """The live sink of ``bench._otlp_sink``."""
    workdir: Path

    def endpoint(self, variant: AppName) -> str:
        return self.collector_endpoint if variant == "vigil-on-collector" else self.otlp_endpoint


OUTAGE_LINE = "Trace export to"
"""Start of the one warning a server logs when its collector is down."""
OUTAGE_TIMEOUT_SECONDS = 30.0
CLOSED_PORT_TRACING: frozenset[AppName] = frozenset(
    {"vigil-on", "vigil-on-access-all", "vigil-tracing"}
)
"""Variants that export to the closed port: measured once the exporter reported the outage
(its first export fails after the 5 s export timeout), as a long-running server would be."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=bounded_int(1, 60), default=4, help="wrk seconds per run"
    )
    parser.add_argument("--connections", type=bounded_int(1, 512), default=32)
    parser.add_argument("--repeats", type=bounded_int(1, 9), default=3, help="runs per variant")
    parser.add_argument(
        "--warmup", type=bounded_int(0, 10), default=1, help="wrk s before each run"
    )
    parser.add_argument(
        "--calls", type=bounded_int(100, 50_000), default=300, help="in-process calls per round"
    )
    parser.add_argument("--rounds", type=bounded_int(1, 30), default=10, help="in-process rounds")
    parser.add_argument("--profile", action="store_true", help="profile even if the goal is met")
    parser.add_argument("--doc", type=Path, default=PERFORMANCE_DOC)
    parser.add_argument("--no-doc", action="store_true", help="print the section, write nothing")
    return parser.parse_args(argv)


class EndpointChoice:
    """The JSON and HTML endpoints, settled on the first Vigil server: ``HTML_PATH`` if it
    serves HTML, else ``HTML_FALLBACK_PATH`` (with a note saying so)."""

    def __init__(self) -> None:
        self.note = ""
        self._endpoints: list[Endpoint] | None = None

    def endpoints(self, port: int | None = None) -> list[Endpoint]:
        if self._endpoints is None:
            if port is None:
                raise BenchError("endpoints are chosen on a running Vigil server")
            html_path = HTML_PATH
            answer = http_request(port, "GET", HTML_PATH)
            if answer.status != 200 or not answer.content_type.startswith("text/html"):
                html_path = HTML_FALLBACK_PATH
                self.note = (
                    f"`GET {HTML_PATH}` answered {answer.status} at this commit, so the HTML "
                    f"figures use `{HTML_FALLBACK_PATH}` instead; see `HTML_PATH` in "
                    "`bench/overhead.py`."
                )
            self._endpoints = [
                Endpoint("JSON", JSON_PATH, BARE_JSON_PATH, "application/json"),
                Endpoint("HTML", html_path, BARE_HTML_PATH, "text/html"),
            ]
        return self._endpoints


# --------------------------------------------------------------------------- in process


def direct_timings(
    setup: Setup,
    variant: AppName,
    endpoints: list[Endpoint],
    *,
    calls: int,
    rounds: int,
    profile: Path | None = None,
) -> dict[str, list[float]]:
    """µs per request for each endpoint, in a fresh process pinned like the server."""
    out = setup.workdir / f"direct-{variant}.json"
    requests = {e.name: ["GET", e.path(variant)] for e in endpoints}
    argv = ["taskset", "-c", str(SERVER_CPU), sys.executable, "-m", "bench._direct"]
    argv += ["--app", variant, "--requests", json.dumps(requests), "--out", str(out)]
    argv += ["--calls", str(calls), "--rounds", str(rounds)]
    argv += ["--db-url", setup.db_url, "--otlp-endpoint", setup.endpoint(variant)]
    if variant in CLOSED_PORT_TRACING:
        argv.append("--settle-tracing")
    if profile is not None:
        argv += ["--profile", str(profile), "--profile-calls", str(PROFILE_CALLS)]
    log = setup.workdir / f"direct-{variant}.log"
    with log.open("ab") as stream:
        done = subprocess.run(argv, stdout=stream, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise BenchError(f"in-process timing of {variant} failed:\n{tail}")
    timings: dict[str, list[float]] = json.loads(out.read_text())
    return timings


@dataclass(frozen=True)
class Cost:
    function: str
    us_per_request: float
    calls_per_request: float


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    for marker in ("site-packages/", str(Path.cwd()) + "/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
    return f"{name} ({filename}:{line})" if line else name


def profile_costs(on: Path, off: Path, calls: int, top: int = 12) -> tuple[list[Cost], list[Cost]]:
    """Own time per request that telemetry on adds over off, biggest first; and cumulative
    time of app/telemetry and opentelemetry functions."""
    on_stats = pstats.Stats(str(on)).stats  # type: ignore[attr-defined]
    off_stats = pstats.Stats(str(off)).stats  # type: ignore[attr-defined]
    added = []
    for key, (_cc, ncalls, tottime, _ct, _callers) in on_stats.items():
        off_tottime = off_stats.get(key, (0, 0, 0.0, 0.0, {}))[2]
        added.append(
            Cost(_function_name(key), (tottime - off_tottime) / calls * 1e6, ncalls / calls)
        )
    added.sort(key=lambda c: c.us_per_request, reverse=True)
    # Wrappers around the whole app (the middleware's __call__) would top this list with the
    # app's own time: keep functions that account for less than half of a request.
    total = sum(stat[2] for stat in on_stats.values())
    telemetry = [
        Cost(_function_name(key), ct / calls * 1e6, ncalls / calls)
        for key, (_cc, ncalls, _tt, ct, _callers) in on_stats.items()
        if ("app/telemetry/" in key[0] or "opentelemetry/" in key[0]) and ct < total / 2
    ]
    telemetry.sort(key=lambda c: c.us_per_request, reverse=True)
    return added[:top], telemetry[:top]


# --------------------------------------------------------------------------- over HTTP


def serve_and_load(
    setup: Setup, variant: AppName, choice: EndpointChoice, args: argparse.Namespace, run: int
) -> tuple[dict[str, WrkResult], Path]:
    """Start ``variant`` pinned, warm up and measure each endpoint with wrk."""
    port = free_port()
    log = setup.workdir / f"server-{variant}-{run}.log"
    argv = [sys.executable, "-m", "bench._serve", "--app", variant, "--port", str(port)]
    argv += ["--db-url", setup.db_url, "--otlp-endpoint", setup.endpoint(variant)]
    results = {}
    ready = BARE_JSON_PATH if variant == "bare" else JSON_PATH
    # Stopping telemetry on waits for the span flush to the closed port (export timeout):
    # not measured, so not waited for.
    with pinned_server(argv, port=port, ready_path=ready, log_path=log, stop_timeout=1) as server:
        endpoints = choice.endpoints(None if variant == "bare" else port)
        if variant in CLOSED_PORT_TRACING:
            wait_for_export_outage(server.url + JSON_PATH, log, args.connections)
        for endpoint in endpoints:
            path = endpoint.path(variant)
            expect_answer(port, "GET", path, status=200, content_type=endpoint.content_type)
            url = server.url + path
            if args.warmup:
                run_wrk(url, duration=args.warmup, connections=args.connections)
            results[endpoint.name] = run_wrk(
                url, duration=args.duration, connections=args.connections
            )
    return results, log


def wait_for_export_outage(url: str, log: Path, connections: int) -> None:
    """Load ``url`` until the server logged that its trace collector is down."""
    deadline = time.monotonic() + OUTAGE_TIMEOUT_SECONDS
    while OUTAGE_LINE not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise BenchError(f"no trace-export outage logged in {OUTAGE_TIMEOUT_SECONDS} s: {log}")
        run_wrk(url, duration=1, connections=connections)


def access_log_check(log: Path, requests: int) -> str:
    """How the telemetry-on server wrote its access log: at least one JSON line for each of
    the ``requests`` wrk counted, and no copies in another format."""
    lines = [
        line for line in log.read_text(errors="replace").splitlines() if "vigil.access" in line
    ]
    json_lines = sum(line.startswith("{") for line in lines)
    if json_lines < requests:
        raise BenchError(
            f"telemetry on logged {json_lines} JSON access-log lines for {requests} requests "
            f"({len(lines)} lines mention vigil.access) in {log}"
        )
    found = f"{json_lines} JSON access-log lines for {requests} measured requests + warm-ups"
    if json_lines != len(lines):
        found += (
            f" and {len(lines) - json_lines} more in another format (a second handler "
            "writes every record again: the telemetry-on figures include that cost)"
        )
    return found


# --------------------------------------------------------------------------- report


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def report(
    args: argparse.Namespace,
    endpoints: list[Endpoint],
    http: dict[AppName, dict[str, list[WrkResult]]],
    direct: dict[AppName, dict[str, float]],
    notes: list[str],
    costs: dict[str, tuple[list[Cost], list[Cost]]],
) -> tuple[str, bool]:
    """The Markdown section and whether the goal is met."""
    v = versions(
        "litestar",
        "uvicorn",
        "uvloop",
        "httptools",
        "granian",
        "opentelemetry-sdk",
        "prometheus-client",
    )
    rows = []
    met = True
    verdicts = []
    for endpoint in endpoints:
        rps = {
            var: median([r.requests_per_second for r in http[var][endpoint.name]])
            for var in VARIANTS
        }
        ratio = rps["vigil-on"] / rps["vigil-off"]
        met = met and ratio >= TARGET_RATIO
        added = direct["vigil-on"][endpoint.name] - direct["vigil-off"][endpoint.name]
        verdicts.append(
            f"{endpoint.name} `{endpoint.vigil_path}`: on/off = **{ratio:.2f}** "
            f"({'met' if ratio >= TARGET_RATIO else 'MISSED'}); telemetry adds "
            f"**{added:.0f} µs** per request in process"
        )
        for var in VARIANTS:
            runs = http[var][endpoint.name]
            rows.append(
                [
                    endpoint.name,
                    f"`{endpoint.path(var)}`",
                    LABELS[var],
                    fmt(rps[var], 0),
                    f"{rps[var] / rps['bare']:.2f}",
                    f"{rps[var] / rps['vigil-off']:.2f}" if var.startswith("vigil-on") else "",
                    fmt(median([r.p50_ms for r in runs])),
                    fmt(median([r.p99_ms for r in runs])),
                    fmt(direct[var][endpoint.name], 1),
                    " / ".join(fmt(r.requests_per_second, 0) for r in runs),
                ]
            )
    table = markdown_table(
        [
            "endpoint",
            "path",
            "variant",
            "req/s",
            "vs bare",
            "on/off",
            "p50 ms",
            "p99 ms",
            "µs/request (in process)",
            "req/s of each run",
        ],
        rows,
        "lllrrrrrrl",
    )
    goal = (
        f"Goal: telemetry on keeps ≥ {TARGET_RATIO:.2f}x the requests/s of telemetry off on "
        f"both endpoints — **{'met' if met else 'NOT met'}**."
    )
    lines = [
        "## Telemetry overhead",
        "",
        f"Command: `{command_line()}`  ",
        f"Date: {now_utc()}  ",
        f"Machine: {machine_line()}  ",
        f"Versions: Litestar {v['litestar']}, uvicorn {v['uvicorn']} (uvloop {v['uvloop']}, "
        f"httptools {v['httptools']}), granian {v['granian']}, opentelemetry-sdk "
        f"{v['opentelemetry-sdk']}, prometheus-client {v['prometheus-client']}, "
        f"wrk {wrk_version()}",
        "",
        "Server: one uvicorn process (`loop=uvloop, http=httptools, access_log=False, "
        "log_level=warning`, as `vigil serve`). Vigil comes from `create_app(settings)` on a "
        "fresh SQLite database migrated to head, scheduler off. *Telemetry off*: metrics and "
        "tracing disabled, log level WARNING, no access log. *Telemetry on*: as shipped — "
        "metrics, 20 % of traces exported over OTLP/HTTP to a closed port, JSON logs at INFO "
        "with the default `access_log: errors` (5xx and slow requests), written to a file; the "
        "goal is checked on this variant. It is measured once the server has logged that the "
        "collector is down (its first export fails after the 5 s export timeout): from then on "
        "tracing is a no-op but for one probe trace every 30 s. *Traces to a live collector*: "
        "the same, exporting to `bench._otlp_sink` (pinned with wrk to CPU 0), so every "
        "sampled span is recorded, encoded and sent. *+ every request logged*: the same with "
        "`access_log: all`, to show what a full access log costs. *Bare*: a minimal Litestar "
        "app with one JSON and one HTML route, same server settings.",
        "",
        f"Load: `wrk -t1 -c{args.connections} -d{args.duration}s --latency`, {args.warmup} s "
        f"warm-up per endpoint, {args.repeats} runs per variant interleaved (off, on, bare, "
        "...), median shown. In process: the ASGI app awaited directly with a fresh scope, "
        f"{args.calls} calls x {args.rounds} rounds per endpoint (rounds alternate the "
        "endpoints), median round.",
        "",
        table,
        "",
        goal,
        "",
        *[f"- {verdict}" for verdict in verdicts],
        *[f"- {note}" for note in notes],
        "",
        "Where the in-process µs go: Vigil with one telemetry part on, minus telemetry off "
        "(the parts need not add up exactly: they share the middleware's fixed cost).",
        "",
        markdown_table(
            ["telemetry", *[f"{e.name} µs/request added" for e in endpoints]],
            [
                [
                    label,
                    *[fmt(direct[var][e.name] - direct["vigil-off"][e.name], 1) for e in endpoints],
                ]
                for var, label in [*PART_LABELS.items(), ("vigil-on", "all (as shipped)")]
            ],
            "l" + "r" * len(endpoints),
        ),
    ]
    for name, (own, telemetry) in costs.items():
        lines += [
            "",
            f"Profile of the in-process loop, {name} endpoint (cProfile inflates every figure; "
            "read it as a ranking). Own time per request that telemetry on adds over off:",
            "",
            markdown_table(
                ["function", "µs/request added", "calls/request"],
                [[f"`{c.function}`", fmt(c.us_per_request), fmt(c.calls_per_request)] for c in own],
                "lrr",
            ),
            "",
            "Cumulative time per request in telemetry code (telemetry on):",
            "",
            markdown_table(
                ["function", "µs/request (cumulative)", "calls/request"],
                [
                    [f"`{c.function}`", fmt(c.us_per_request), fmt(c.calls_per_request)]
                    for c in telemetry
                ],
                "lrr",
            ),
        ]
    return "\n".join(lines) + "\n", met


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_machine()
    estimate = args.repeats * len(VARIANTS) * (3 + 2 * (args.warmup + args.duration)) + 45
    progress(f"bench.overhead: about {estimate} s")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vigil-bench-")))
        sink_port = free_port()
        sink = stack.enter_context(
            pinned_server(
                [sys.executable, "-m", "bench._otlp_sink", "--port", str(sink_port)],
                port=sink_port,
                ready_path="/stats",
                log_path=workdir / "otlp-sink.log",
                cpu=LOAD_CPU,
            )
        )
        setup = Setup(
            db_url=f"sqlite+aiosqlite:///{workdir / 'vigil.db'}",
            otlp_endpoint=f"http://127.0.0.1:{closed_port()}/v1/traces",
            collector_endpoint=f"{sink.url}/v1/traces",
            workdir=workdir,
        )
        asyncio.run(migrate_database(setup.db_url))
        choice = EndpointChoice()
        http: dict[AppName, dict[str, list[WrkResult]]] = {v: {} for v in VARIANTS}
        access_logs = []
        for run in range(args.repeats):
            for variant in VARIANTS:
                progress(f"run {run + 1}: serving {variant}")
                results, log = serve_and_load(setup, variant, choice, args, run)
                for name, result in results.items():
                    http[variant].setdefault(name, []).append(result)
                    progress(
                        f"  {variant} {name}: {result.requests_per_second:,.0f} req/s, "
                        f"p99 {result.p99_ms:.2f} ms"
                    )
                if variant == "vigil-on-access-all":
                    requests = sum(r.requests for r in results.values())
                    access_logs.append(access_log_check(log, requests))
        endpoints = choice.endpoints()
        notes = [choice.note] if choice.note else []
        notes.append(f"Every-request server log, last run: {access_logs[-1]}.")
        received = json.loads(http_request(sink_port, "GET", "/stats").body)
        notes.append(
            f"The live collector received {received['exports']:,} span exports "
            f"({received['bytes'] / 1e6:,.1f} MB) during the HTTP runs."
        )

        # In process, after the load runs; Vigil's variants are profiled in the same process.
        direct: dict[AppName, dict[str, float]] = {}
        profiles: dict[AppName, Path] = {}
        for variant in VARIANTS:
            if variant != "bare":
                profiles[variant] = workdir / f"profile-{variant}"
            timings = direct_timings(
                setup,
                variant,
                endpoints,
                calls=args.calls,
                rounds=args.rounds,
                profile=profiles.get(variant),
            )
            direct[variant] = {name: median(values) for name, values in timings.items()}
            progress(f"in process {variant}: " + ", ".join(
                f"{name} {us:.0f} µs" for name, us in direct[variant].items()
            ))  # fmt: skip
        for variant in PARTS:
            timings = direct_timings(
                setup, variant, endpoints, calls=args.calls, rounds=args.rounds
            )
            direct[variant] = {name: median(values) for name, values in timings.items()}

        missed = any(
            median([r.requests_per_second for r in http["vigil-on"][e.name]])
            < TARGET_RATIO * median([r.requests_per_second for r in http["vigil-off"][e.name]])
            for e in endpoints
        )
        costs: dict[str, tuple[list[Cost], list[Cost]]] = {}
        if missed or args.profile:
            for endpoint in endpoints:
                costs[endpoint.name] = profile_costs(
                    Path(f"{profiles['vigil-on']}.{endpoint.name}"),
                    Path(f"{profiles['vigil-off']}.{endpoint.name}"),
                    PROFILE_CALLS,
                )

    section, met = report(args, endpoints, http, direct, notes, costs)
    print(section)
    if not args.no_doc:
        rewrite_doc_section(SECTION, section, args.doc)
        progress(f"wrote the {SECTION} section of {args.doc}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
