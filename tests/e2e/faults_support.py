"""Helpers of the fault tests: a private PostgreSQL cluster, beacon load, stored-event counts.

The PostgreSQL here is a throw-away cluster of the test's own (``initdb`` in a temporary
folder, its own port and socket folder), so stopping and starting it cannot disturb the
machine's shared server that other tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.server import free_port

PG_BIN = Path(os.environ.get("VIGIL_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_OS_USER = "postgres"
"""initdb and postgres refuse to run as root: as root, the cluster runs as this user."""

SITE_KEY = "fault0123456789a"
ORIGIN = "https://shop.example.com"
BEACON_HEADERS = {
    "Origin": ORIGIN,
    "Content-Type": "text/plain;charset=UTF-8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36",
}
BEACON = json.dumps(
    {
        "page": "/products/42",
        "vw": 1280,
        "events": [{"name": "LCP", "value": 1800.0}, {"name": "CLS", "value": 0.02}],
    }
).encode()
EVENTS_PER_BEACON = 2


# --------------------------------------------------------------------------- PostgreSQL


def postgres_missing() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    for tool in ("initdb", "pg_ctl"):
        if not (PG_BIN / tool).is_file():
            return f"{PG_BIN / tool} not found (Debian: postgresql-15)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing"
        try:
            import pwd

            pwd.getpwnam(PG_OS_USER)
        except KeyError:
            return f"running as root and there is no {PG_OS_USER!r} OS user"
    return None


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in ``folder``, listening on 127.0.0.1:``port`` only."""

    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", PG_OS_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c shared_buffers=16MB -c max_connections=60"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m mode``: ``fast`` disconnects every client, as a restart does."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh cluster, started; stopped (immediately) and deleted on exit."""
    folder = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user=PG_OS_USER, group=PG_OS_USER)
    cluster = PrivatePostgres(folder, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            with contextlib.suppress(Exception):
                cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- the database


async def prepare_database(url: str, *, ping_token: str) -> None:
    """Migrate Vigil's database and add the site the beacons go to and a paused service
    (never checked) whose token the pings use, before Vigil starts: its site cache then
    knows the site from the first beacon."""
    from app.config import DatabaseSettings
    from app.db import migrate
    from app.db.engine import create_engine, create_session_factory
    from app.rum.models import Site
    from app.services.models import Service

    engine = create_engine(DatabaseSettings(url=url))
    try:
        await migrate.upgrade(engine)
        async with create_session_factory(engine).begin() as session:
            session.add(Site(name="Shop", key=SITE_KEY, allowed_origins=[ORIGIN], page_cap=500))
            session.add(
                Service(
                    name="faults",
                    base_url="http://127.0.0.1:9",
                    ping_token=ping_token,
                    enabled=False,
                    state="paused",
                )
            )
    finally:
        await engine.dispose()


async def count_rows(url: str, table: str) -> int:
    from sqlalchemy import text

    from app.config import DatabaseSettings
    from app.db.engine import create_engine

    engine = create_engine(DatabaseSettings(url=url))
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    finally:
        await engine.dispose()


async def stored_events(url: str) -> int:
    """Web Vitals events in the daily aggregate rows (each counts ``n`` events)."""
    from sqlalchemy import text

    from app.config import DatabaseSettings
    from app.db.engine import create_engine

    engine = create_engine(DatabaseSettings(url=url))
    try:
        async with engine.connect() as conn:
            total = await conn.scalar(text("SELECT COALESCE(SUM(n), 0) FROM rum_vitals_daily"))
    finally:
        await engine.dispose()
    return int(total or 0)


# --------------------------------------------------------------------------- HTTP


async def wait_for_status(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    want: set[int],
    allowed: set[int],
    within: float,
    **kwargs: object,
) -> tuple[httpx.Response, list[int], float]:
    """Repeat a request until it answers one of ``want``; every other answer must be in
    ``allowed``. Returns the answer, every status seen and the seconds it took."""
    started = time.monotonic()
    seen: list[int] = []
    while True:
        response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        seen.append(response.status_code)
        if response.status_code in want:
            return response, seen, time.monotonic() - started
        assert response.status_code in allowed, (
            f"{method} {path}: {response.status_code} {response.text[:300]}"
        )
        assert time.monotonic() - started < within, (
            f"{method} {path} never answered {want} in {within} s; saw {sorted(set(seen))}"
        )
        await asyncio.sleep(0.2)


@dataclass
class BeaconLoad:
    """Beacons sent by ``workers`` concurrent clients until stopped, with what came back."""

    url: str
    workers: int = 8
    accepted_at: list[float] = field(default_factory=list)
    """``time.monotonic()`` of every 202 answer."""
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    """Requests that got no answer (the server went away while they were in flight)."""
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @property
    def accepted_events(self) -> int:
        return len(self.accepted_at) * EVENTS_PER_BEACON

    def accepted_since(self, moment: float) -> int:
        return sum(1 for t in self.accepted_at if t >= moment) * EVENTS_PER_BEACON

    def start(self, *, max_seconds: float = 30) -> None:
        """Send in the background until :meth:`stop`, the server goes or ``max_seconds``."""
        self._task = asyncio.create_task(self.run(max_seconds=max_seconds))

    def stop(self) -> None:
        self._stop.set()

    async def finished(self, *, within: float) -> None:
        """Wait for the background load to end (each worker ends on its first lost answer)."""
        assert self._task is not None, "start() first"
        await asyncio.wait_for(self._task, timeout=within)

    async def run(self, *, max_seconds: float = 30) -> None:
        """Send until :meth:`stop` or until the server stops answering."""
        limits = httpx.Limits(max_connections=self.workers, max_keepalive_connections=self.workers)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=10) as client:
            deadline = time.monotonic() + max_seconds
            await asyncio.gather(*(self._worker(client, deadline) for _ in range(self.workers)))

    async def _worker(self, client: httpx.AsyncClient, deadline: float) -> None:
        path = f"/rum/v1/{SITE_KEY}"
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                response = await client.post(path, content=BEACON, headers=BEACON_HEADERS)
            except httpx.TransportError:
                self.errors += 1
                return  # the server is going away: this worker is done
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code == 202:
                self.accepted_at.append(time.monotonic())


def accepted_counter(metrics_text: str) -> int:
    """``vigil_rum_events_total{outcome="accepted"}`` summed, from a ``/metrics`` answer."""
    from prometheus_client.parser import text_string_to_metric_families

    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(metrics_text)
            if family.name == "vigil_rum_events"
            for sample in family.samples
            if sample.name == "vigil_rum_events_total"
            and sample.labels.get("outcome") == "accepted"
        )
    )


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def log_in(client: httpx.AsyncClient, *, email: str, password: str) -> None:
    """Log in through the real form (CSRF token from the page, session cookie kept)."""
    page = await client.get("/login")
    match = _CSRF_META.search(page.text)
    assert match, f"no CSRF token on /login: {page.status_code}"
    answer = await client.post(
        "/login",
        data={"email": email, "password": password, "next": "", "_csrf_token": match[1]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
