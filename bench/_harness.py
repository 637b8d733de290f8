"""Shared benchmark plumbing: pinned server processes, wrk runs, direct ASGI timing, reports.

A benchmark here is a ratio against a bare Litestar endpoint measured in the same run, with
the server pinned to one core and the load generator on the other::

    with pinned_server([sys.executable, "-m", "bench._serve", "--app", "bare", "--port", p],
                       port=p, ready_path="/json", log_path=log):
        result = run_wrk(f"http://127.0.0.1:{p}/json", duration=5, connections=32)
    print(result.requests_per_second, result.p99_ms)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib.metadata
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[..., Awaitable[None]]

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
SERVER_CPU = 1
"""Core the server under test is pinned to (``taskset -c 1``)."""
LOAD_CPU = 0
"""Core wrk is pinned to (``taskset -c 0``)."""
HOST = "127.0.0.1"
PG_ADMIN_DSN = os.environ.get("VIGIL_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
"""An admin DSN of the machine's PostgreSQL: the benchmarks create (and drop) databases on it."""


_STARTED = time.monotonic()


def progress(message: str) -> None:
    """A progress line on stderr, with the seconds since the benchmark started."""
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A benchmark run that cannot be trusted (errors, non-2xx, a server that died)."""


# --------------------------------------------------------------------------- databases


@contextlib.contextmanager
def scratch_database(kind: str, *, admin_dsn: str = PG_ADMIN_DSN) -> Iterator[str]:
    """The SQLAlchemy URL of an empty database, gone on exit: a file in a temporary folder for
    ``sqlite``, a new database on ``admin_dsn``'s server for ``postgresql``."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="vigil-bench-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        return
    database = f"vigil_bench_{secrets.token_hex(4)}"
    asyncio.run(_postgresql_admin(admin_dsn, f'CREATE DATABASE "{database}"'))
    try:
        base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        yield f"{base}/{database}"
    finally:
        asyncio.run(
            _postgresql_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        )


async def _postgresql_admin(dsn: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- environment


def require_machine() -> None:
    """Fail early unless two cores, ``taskset`` and ``wrk`` are available."""
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, LOAD_CPU} <= cpus:
        raise BenchError(f"need CPUs {LOAD_CPU} and {SERVER_CPU}; this process may use {cpus}")
    for tool in ("taskset", "wrk"):
        if shutil.which(tool) is None:
            raise BenchError(f"`{tool}` not found on PATH (Debian: apt-get install wrk util-linux)")
    load1 = os.getloadavg()[0]
    if load1 > 0.5:
        progress(f"warning: load average {load1:.2f}: other work shares the cores, expect noise")


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers from ``low`` to ``high``."""

    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low}..{high}, got {value}")
        return value

    return parse


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A port that refuses connections (nothing listens): an unreachable exporter target."""
    return free_port()


def versions(*packages: str) -> dict[str, str]:
    """Installed version of each distribution (``"missing"`` when absent)."""
    found = {}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def wrk_version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return match[1] if match else "unknown"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """One line describing where the figures come from."""
    load1, load5, _ = os.getloadavg()
    return (
        f"{os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}, "
        f"Python {platform.python_version()}; server pinned to CPU {SERVER_CPU} "
        f"(`taskset -c {SERVER_CPU}`), wrk pinned to CPU {LOAD_CPU}; "
        f"load average at start {load1:.2f} / {load5:.2f} (1 / 5 min)"
    )


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------- servers


@dataclass
class PinnedServer:
    """A server process started by :func:`pinned_server`."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


@contextlib.contextmanager
def pinned_server(
    argv: Sequence[str],
    *,
    port: int,
    ready_path: str,
    log_path: Path,
    cpu: int = SERVER_CPU,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    stop_timeout: float = 15.0,
) -> Iterator[PinnedServer]:
    """Run ``argv`` under ``taskset -c cpu`` (output to ``log_path``) until ``ready_path``
    answers 2xx; on exit stop its whole process group: SIGTERM, then SIGKILL after
    ``stop_timeout`` seconds (the figures are taken by then; a graceful exit is not measured).
    """
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            ["taskset", "-c", str(cpu), *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
            start_new_session=True,  # own process group: granian's workers stop with it
        )
    server = PinnedServer(f"http://{HOST}:{port}", process, log_path)
    try:
        _wait_ready(server, port, ready_path, timeout)
        affinity = os.sched_getaffinity(process.pid)
        if affinity != {cpu}:
            raise BenchError(f"server pid {process.pid} runs on CPUs {affinity}, not {{{cpu}}}")
        yield server
    finally:
        _stop_group(process, stop_timeout)


def _wait_ready(server: PinnedServer, port: int, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"server exited early ({server.process.returncode}):\n{server.log_tail()}"
            )
        with contextlib.suppress(OSError, http.client.HTTPException):
            if 200 <= http_request(port, "GET", path).status < 300:
                return
        time.sleep(0.05)
    raise BenchError(f"server not ready on {path} after {timeout:.0f}s:\n{server.log_tail()}")


def _stop_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """One plain HTTP/1.1 request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return HttpAnswer(response.status, response.getheader("content-type", ""), response.read())
    finally:
        conn.close()


def expect_answer(
    port: int,
    method: str,
    path: str,
    *,
    status: int,
    content_type: str | None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """Check one request answers exactly ``status`` (and content type prefix) before a load
    run: wrk counts 3xx as success, so a redirecting endpoint must be caught here."""
    answer = http_request(port, method, path, body, headers)
    if answer.status != status or (
        content_type is not None and not answer.content_type.startswith(content_type)
    ):
        raise BenchError(
            f"{method} {path} answered {answer.status} {answer.content_type!r}, expected "
            f"{status} {content_type!r}: {answer.body[:300]!r}"
        )
    return answer


# --------------------------------------------------------------------------- wrk


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    requests: int
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    output: str = field(repr=False)

    @property
    def failed(self) -> bool:
        return self.non_2xx > 0 or any(self.socket_errors.values())


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_REQUESTS_RE = re.compile(r"^\s*(\d+) requests in ", re.M)
_PERCENTILE_RE = re.compile(r"^\s+(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str) -> WrkResult:
    """Read requests/s, p50/p99 (``--latency``), non-2xx and socket errors from wrk's text."""
    rps = _RPS_RE.search(output)
    total = _REQUESTS_RE.search(output)
    percentiles = {m[1]: float(m[2]) * _UNIT_MS[m[3]] for m in _PERCENTILE_RE.finditer(output)}
    if rps is None or total is None or not {"50", "99"} <= percentiles.keys():
        raise BenchError(f"cannot parse wrk output (was --latency given?):\n{output}")
    non_2xx = _NON_2XX_RE.search(output)
    sockets = _SOCKET_RE.search(output)
    return WrkResult(
        requests_per_second=float(rps[1]),
        requests=int(total[1]),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=(
            dict(
                zip(
                    ("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True
                )
            )
            if sockets
            else {}
        ),
        output=output,
    )


def run_wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int = 1,
    script: Path | None = None,
    cpu: int = LOAD_CPU,
) -> WrkResult:
    """``taskset -c cpu wrk -t.. -c.. -d..s --latency [-s script] url``, parsed; raises
    :class:`BenchError` on any non-2xx response or socket error."""
    argv = ["taskset", "-c", str(cpu), "wrk", f"-t{threads}", f"-c{connections}"]
    argv += [f"-d{max(1, round(duration))}s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    done = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=duration + 60, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    result = parse_wrk(done.stdout)
    if result.failed:
        raise BenchError(
            f"{url}: {result.non_2xx} non-2xx responses, socket errors {result.socket_errors}"
            f"\n{done.stdout}"
        )
    return result


def write_wrk_script(path: Path, *, method: str, body: bytes, headers: Mapping[str, str]) -> Path:
    """A wrk Lua script sending ``body`` with ``method`` and ``headers`` on every request."""
    lines = [f"wrk.method = {_lua_string(method.encode())}"]
    lines.append(f"wrk.body = {_lua_string(body)}")
    lines += [
        f"wrk.headers[{_lua_string(k.encode())}] = {_lua_string(v.encode())}"
        for k, v in headers.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def _lua_string(data: bytes) -> str:
    """A Lua string literal for arbitrary bytes (decimal escapes outside printable ASCII)."""
    out = []
    for byte in data:
        char = chr(byte)
        if char in '"\\' or not 32 <= byte < 127:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


# --------------------------------------------------------------------------- direct ASGI


@dataclass(frozen=True)
class AsgiRequest:
    """An HTTP request to feed an ASGI app directly."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def scope(self) -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1:8000"),
                (b"user-agent", b"bench"),
                *[(k.lower().encode(), v.encode()) for k, v in self.headers],
            ],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "extensions": {},
        }


def asgi_caller(app: ASGIApp, request: AsgiRequest) -> Callable[[], Awaitable[int]]:
    """An async function that sends ``request`` through ``app`` once and returns the status.

    Each call gets a fresh scope (apps write into it), one body message, then disconnect."""
    base = request.scope()
    body_message = {"type": "http.request", "body": request.body, "more_body": False}
    disconnect = {"type": "http.disconnect"}

    async def call() -> int:
        status = 0
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if sent_body:
                return dict(disconnect)
            sent_body = True
            return dict(body_message)

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app({**base, "headers": list(base["headers"]), "state": {}}, receive, send)
        return status

    return call


async def time_asgi(
    app: ASGIApp,
    requests: Mapping[str, AsgiRequest],
    *,
    calls: int,
    rounds: int,
    warmup: int = 200,
) -> dict[str, list[float]]:
    """µs per request for each named request, one figure per round (rounds interleave the
    requests so drift hits all of them alike). Raises on any non-2xx answer."""
    callers = {name: asgi_caller(app, request) for name, request in requests.items()}
    for name, call in callers.items():
        for _ in range(warmup):
            status = await call()
            if not 200 <= status < 300:
                raise BenchError(f"{requests[name].method} {requests[name].path} answered {status}")
    results: dict[str, list[float]] = {name: [] for name in callers}
    for _ in range(rounds):
        for name, call in callers.items():
            bad = 0
            start = time.perf_counter()
            for _ in range(calls):
                if not 200 <= await call() < 300:
                    bad += 1
            elapsed = time.perf_counter() - start
            if bad:
                raise BenchError(f"{requests[name].path}: {bad} non-2xx answers")
            results[name].append(elapsed / calls * 1e6)
    return results


@contextlib.asynccontextmanager
async def asgi_lifespan(app: ASGIApp) -> Any:
    """Run the app's ASGI lifespan startup before the block and shutdown after it."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}

    async def run_app() -> None:
        await app(scope, to_app.get, from_app.put)

    task = asyncio.create_task(run_app())
    await to_app.put({"type": "lifespan.startup"})
    started = await from_app.get()
    if started["type"] != "lifespan.startup.complete":
        raise BenchError(f"lifespan startup failed: {started}")
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await task


# --------------------------------------------------------------------------- reporting


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str) -> str:
    """A Markdown table; ``align`` has one letter per column: ``l`` or ``r``."""
    marks = {"l": "---", "r": "---:"}
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


DOC_HEADER = """# Performance

Figures written by the benchmarks in `bench/`; each rewrites only its own section (between
its `bench:NAME:start` and `bench:NAME:end` comment markers), so re-run one with
`.venv/bin/python -m bench.NAME`, then `.venv/bin/python -m bench.summary` for the table
below, and commit the diff (`make bench` runs them all). Every figure is measured against a bare
Litestar endpoint in the same run, with the server pinned to one core and wrk to the other,
so the ratios travel between machines better than raw requests per second do. Each section
records the load average at its start: on a machine shared with other work the figures are
noisy, so re-run when it is near 0.
"""


def rewrite_doc_section(name: str, body: str, doc: Path = PERFORMANCE_DOC) -> None:
    """Replace the text between this benchmark's markers in ``doc`` (append it if absent)."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else DOC_HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")


def command_line() -> str:
    """How this benchmark was invoked, as someone would retype it."""
    module = sys.modules["__main__"].__spec__
    name = module.name if module is not None else sys.argv[0]
    return " ".join([".venv/bin/python", "-m", name, *sys.argv[1:]])
