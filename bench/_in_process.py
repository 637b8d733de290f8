"""What the benchmarks that time Vigil inside one process (no server, no wrk) share: the
arguments, the app's settings, a signed-in test client, p95, the report's header and the run
on a scratch database of each kind::

    def main() -> None:
        parser = in_process_parser(__doc__, db="sqlite")
        parser.add_argument("--loads", type=int, default=30)
        run_on_databases(parser.parse_args(), measure, report, section="pages")
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import re
import statistics
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from app.config import (
    DatabaseSettings,
    SchedulerSettings,
    Settings,
    TelemetrySettings,
    TracingSettings,
)
from app.db.engine import create_engine, create_session_factory
from bench._harness import (
    command_line,
    cpu_model,
    now_utc,
    progress,
    rewrite_doc_section,
    scratch_database,
    versions,
)

EMAIL = "bench@example.com"
PASSWORD = "bench password 123"  # a throwaway user in a throwaway database
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')

Result = TypeVar("Result")


def in_process_parser(doc: str, *, db: str) -> argparse.ArgumentParser:
    """A parser with the arguments every in-process benchmark takes (``--db``, ``--no-doc``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default=db)
    parser.add_argument("--no-doc", action="store_true", help="print, do not write the doc")
    return parser


def app_settings(url: str) -> Settings:
    """Vigil on ``url`` without the scheduler and tracing: only the code timed runs."""
    return Settings(
        database=DatabaseSettings(url=url, auto_upgrade=False),
        scheduler=SchedulerSettings(enabled=False),
        telemetry=TelemetrySettings(tracing=TracingSettings(enabled=False)),
    )


@asynccontextmanager
async def signed_in_client(url: str, *, role: str) -> AsyncIterator[Any]:
    """A Litestar test client of the whole app on ``url``, logged in as a new ``role`` user."""
    from litestar.testing import AsyncTestClient

    from app.auth.users import create_user
    from app.main import create_app

    logging.getLogger("httpx").setLevel(logging.WARNING)
    engine = create_engine(DatabaseSettings(url=url))
    await create_user(create_session_factory(engine), email=EMAIL, password=PASSWORD, role=role)
    await engine.dispose()
    async with AsyncTestClient(app=create_app(app_settings(url))) as client:
        token = _CSRF.search((await client.get("/login")).text)
        assert token, "no CSRF token on /login"
        answer = await client.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "next": "", "_csrf_token": token[1]},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        yield client


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def machine() -> str:
    """Cores, CPU, Python and the load average: these benchmarks pin nothing."""
    load1, load5, _ = os.getloadavg()
    return (
        f"{os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}, "
        f"one process, not pinned; load average at the end {load1:.2f} / {load5:.2f} "
        "(1 / 5 min)"
    )


def report_header(*packages: str) -> str:
    """Command, date, machine and the versions of ``packages``, as Markdown lines."""
    installed = versions(*packages)
    return "  \n".join(
        [
            f"Command: `{command_line()}`",
            f"Date: {now_utc()}",
            f"Machine: {machine()}",
            "Versions: " + ", ".join(f"{name} {version}" for name, version in installed.items()),
        ]
    )


def run_on_databases(
    args: argparse.Namespace,
    measure: Callable[[str, argparse.Namespace], Coroutine[Any, Any, Result]],
    report: Callable[[argparse.Namespace, dict[str, Result]], str],
    *,
    section: str,
) -> None:
    """``measure`` on a scratch database of each kind ``--db`` names, then ``report`` printed
    and, unless ``--no-doc``, written to the benchmark's section of docs/performance.md."""
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results: dict[str, Result] = {}
    for database in databases:
        progress(f"{database}: seeding")
        with scratch_database(database) as url:
            results[database] = asyncio.run(measure(url, args))
    body = report(args, results)
    print(body)
    if not args.no_doc:
        rewrite_doc_section(section, body)
