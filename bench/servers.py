"""Which ASGI server `vigil serve` should use: uvicorn (uvloop + httptools) or granian, each
serving the same bare Litestar app on one pinned core.

    .venv/bin/python -m bench.servers [--duration 4] [--connections 32] [--repeats 3]

Workloads: (a) GET of a small JSON endpoint, (b) POST of a 317-byte Web Vitals beacon that
the app decodes with msgspec (strict) and answers 204 (wrk sends it from a Lua script).
Servers are interleaved (uvicorn, granian, uvicorn, ...); the median run is reported, with
the app's own in-process cost so the server's share of each request shows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench._harness import (
    PERFORMANCE_DOC,
    SERVER_CPU,
    BenchError,
    WrkResult,
    bounded_int,
    command_line,
    expect_answer,
    free_port,
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
    write_wrk_script,
    wrk_version,
)
from bench.apps import BARE_BEACON_PATH, BARE_JSON_PATH, BEACON_BODY

SECTION = "servers"
SERVERS = ("uvicorn", "granian")
CURRENT_SERVER = "uvicorn"
"""What `vigil serve` runs today (app/cli.py)."""


@dataclass(frozen=True)
class Workload:
    name: str
    method: str
    path: str
    status: int
    content_type: str | None
    body: bytes = b""

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json"} if self.body else {}


WORKLOADS = (
    Workload("GET JSON", "GET", BARE_JSON_PATH, 200, "application/json"),
    Workload(
        f"POST beacon ({len(BEACON_BODY)} B)", "POST", BARE_BEACON_PATH, 204, None, BEACON_BODY
    ),
)


def server_argv(server: str, port: int) -> list[str]:
    """The command serving ``bench.apps:bare_app`` with ``server`` on one worker."""
    if server == "uvicorn":
        return [sys.executable, "-m", "bench._serve", "--app", "bare", "--port", str(port)]
    granian = str(Path(sys.executable).with_name("granian"))
    return [
        granian,
        "--interface", "asgi",
        "--workers", "1",
        "--runtime-threads", "1",
        "--loop", "uvloop",
        "--http", "1",
        "--no-ws",
        "--log-level", "warning",
        "--no-access-log",
        "--host", "127.0.0.1",
        "--port", str(port),
        "bench.apps:bare_app",
    ]  # fmt: skip


def server_command(server: str) -> str:
    """``server_argv`` as someone would type it from the repository root."""
    bin_dir = str(Path(sys.executable).parent) + "/"
    return " ".join(server_argv(server, 8000)).replace(bin_dir, ".venv/bin/")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=bounded_int(1, 60), default=4, help="wrk s per run")
    parser.add_argument("--connections", type=bounded_int(1, 512), default=32)
    parser.add_argument("--repeats", type=bounded_int(1, 9), default=3, help="runs per server")
    parser.add_argument("--warmup", type=bounded_int(0, 10), default=2, help="wrk s before a run")
    parser.add_argument("--doc", type=Path, default=PERFORMANCE_DOC)
    parser.add_argument("--no-doc", action="store_true", help="print the section, write nothing")
    return parser.parse_args(argv)


def app_cost(workdir: Path) -> dict[str, float]:
    """µs per request of the bare app itself, awaited in process (no server)."""
    out = workdir / "direct-bare.json"
    requests = {w.name: [w.method, w.path, w.body.decode("latin-1")] for w in WORKLOADS}
    argv = ["taskset", "-c", str(SERVER_CPU), sys.executable, "-m", "bench._direct"]
    argv += ["--app", "bare", "--requests", json.dumps(requests), "--out", str(out)]
    argv += ["--calls", "300", "--rounds", "10"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"in-process timing failed:\n{done.stderr}")
    return {name: median(values) for name, values in json.loads(out.read_text()).items()}


def load_server(
    server: str, workdir: Path, script: Path, args: argparse.Namespace, run: int
) -> dict[str, WrkResult]:
    port = free_port()
    log = workdir / f"{server}-{run}.log"
    results = {}
    argv = server_argv(server, port)
    with pinned_server(argv, port=port, ready_path=BARE_JSON_PATH, log_path=log) as srv:
        for workload in WORKLOADS:
            expect_answer(
                port,
                workload.method,
                workload.path,
                status=workload.status,
                content_type=workload.content_type,
                body=workload.body or None,
                headers=workload.headers,
            )
            wrk_script = script if workload.body else None
            url = srv.url + workload.path
            if args.warmup:
                run_wrk(url, duration=args.warmup, connections=args.connections, script=wrk_script)
            results[workload.name] = run_wrk(
                url, duration=args.duration, connections=args.connections, script=wrk_script
            )
    return results


SWITCH_RATIO = 1.10
"""How much faster on the beacon POST (without a worse p99) the other server must be to
justify switching `vigil serve` to it."""


def verdict(rps: dict[str, dict[str, float]], p99: dict[str, dict[str, float]]) -> str:
    """Keep the current server unless the other is clearly better on the beacon POST,
    Vigil's hot path: ``SWITCH_RATIO`` x its requests/s and no worse p99."""
    get_, post = WORKLOADS[0].name, WORKLOADS[1].name
    current = CURRENT_SERVER
    other = next(s for s in SERVERS if s != current)
    post_ratio = rps[other][post] / rps[current][post]
    switch = post_ratio >= SWITCH_RATIO and p99[other][post] <= p99[current][post]
    choice = other if switch else current
    text = (
        f"On the beacon POST {other} serves {post_ratio:.2f}x the requests/s of {current} "
        f"(p99 {p99[other][post]:.1f} ms vs {p99[current][post]:.1f} ms); on the bodiless GET "
        f"{rps[other][get_] / rps[current][get_]:.2f}x (p99 {p99[other][get_]:.1f} ms vs "
        f"{p99[current][get_]:.1f} ms). Choice: **{choice}** for `vigil serve`: the request "
        "Vigil receives most is the beacon POST (every page view of every monitored site), so "
        f"it decides, and a switch needs ≥ {SWITCH_RATIO:.2f}x its requests/s with no worse "
        "p99; the GETs are people's dashboard pages, a few per minute."
    )
    if switch:
        text += f" `vigil serve` runs {current} today: switch it."
    return text


def report(
    args: argparse.Namespace, http: dict[str, dict[str, list[WrkResult]]], app_us: dict[str, float]
) -> str:
    v = versions("litestar", "uvicorn", "uvloop", "httptools", "granian", "msgspec")
    rps = {
        s: {w.name: median([r.requests_per_second for r in http[s][w.name]]) for w in WORKLOADS}
        for s in SERVERS
    }
    p99 = {
        s: {w.name: median([r.p99_ms for r in http[s][w.name]]) for w in WORKLOADS} for s in SERVERS
    }
    rows = []
    for workload in WORKLOADS:
        for server in SERVERS:
            runs = http[server][workload.name]
            per_request = 1e6 / rps[server][workload.name]
            rows.append([
                workload.name,
                server,
                f"{rps[server][workload.name]:,.0f}",
                f"{rps[server][workload.name] / rps[CURRENT_SERVER][workload.name]:.2f}",
                f"{median([r.p50_ms for r in runs]):.2f}",
                f"{p99[server][workload.name]:.2f}",
                f"{per_request:.0f}",
                f"{per_request - app_us[workload.name]:.0f}",
                " / ".join(f"{r.requests_per_second:,.0f}" for r in runs),
            ])  # fmt: skip
    table = markdown_table(
        ["workload", "server", "req/s", f"vs {CURRENT_SERVER}", "p50 ms", "p99 ms",
         "µs/request", "server's µs/request", "req/s of each run"],
        rows,
        "llrrrrrrl",
    )  # fmt: skip
    lines = [
        "## ASGI server: uvicorn vs granian",
        "",
        f"Command: `{command_line()}`  ",
        f"Date: {now_utc()}  ",
        f"Machine: {machine_line()}  ",
        f"Versions: Litestar {v['litestar']}, uvicorn {v['uvicorn']} (uvloop {v['uvloop']}, "
        f"httptools {v['httptools']}), granian {v['granian']}, msgspec {v['msgspec']}, "
        f"wrk {wrk_version()}",
        "",
        'App: the bare Litestar app of `bench/apps.py` (GET returns `{"status": "ok"}`; '
        "POST decodes the body with a strict msgspec decoder and answers 204). Servers, one "
        "process each, pinned to one core:",
        "",
        f"- uvicorn: `{server_command('uvicorn')}` (`loop=uvloop, http=httptools, "
        "access_log=False, log_level=warning`, as `vigil serve`)",
        f"- granian: `{server_command('granian')}`",
        "",
        f"Load: `wrk -t1 -c{args.connections} -d{args.duration}s --latency` (POST body from a Lua "
        f"script), {args.warmup} s warm-up per workload, {args.repeats} runs per server "
        "interleaved, median shown. *µs/request* is 1 / req/s (the core is saturated); "
        "*server's µs/request* subtracts what the app itself costs awaited in process (median "
        "of 10 rounds) " + ", ".join(f"{name}: {us:.0f} µs" for name, us in app_us.items()) + ".",
        "",
        table,
        "",
        verdict(rps, p99),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_machine()
    estimate = args.repeats * len(SERVERS) * (2 + len(WORKLOADS) * (args.warmup + args.duration))
    progress(f"bench.servers: about {estimate + 5} s")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        workdir = Path(tmp)
        script = write_wrk_script(
            workdir / "beacon.lua", method="POST", body=BEACON_BODY, headers=WORKLOADS[1].headers
        )
        app_us = app_cost(workdir)
        http: dict[str, dict[str, list[WrkResult]]] = {
            s: {w.name: [] for w in WORKLOADS} for s in SERVERS
        }
        for run in range(args.repeats):
            for server in SERVERS:
                for name, result in load_server(server, workdir, script, args, run).items():
                    http[server][name].append(result)
                    progress(
                        f"  run {run + 1} {server} {name}: {result.requests_per_second:,.0f} "
                        f"req/s p99 {result.p99_ms:.2f} ms"
                    )
    section = report(args, http, app_us)
    print(section)
    if not args.no_doc:
        rewrite_doc_section(SECTION, section, args.doc)
        progress(f"wrote the {SECTION} section of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
