"""A real `vigil serve`, pings sent with the real `curl` lines of docs/tasks.md, and the task
pages in a real Chromium (no console errors, so no CSP violation), with screenshots."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.async_api import expect

from app.config import DatabaseSettings
from app.db.engine import create_engine, create_session_factory
from app.services.models import Service
from tests.support.browser import (
    BROWSER_MARKS,
    SCREENSHOTS,
    chromium_page,
    console_problems,
    log_in,
)
from tests.support.server import vigil_server

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "e2e password 123"
TOKEN = "e2e-ping-token-0123456789abcdef"

pytestmark = [
    *BROWSER_MARKS,
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl"),
]


async def _seed_service(db_path: Path) -> None:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{db_path}"))
    async with create_session_factory(engine).begin() as session:
        session.add(
            Service(name="billing", base_url="https://billing.example.com", ping_token=TOKEN)
        )
    await engine.dispose()


def _curl(*args: str) -> str:
    done = subprocess.run(
        ["curl", "-fsS", "-m", "10", "--retry", "3", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _report_runs(base: str) -> None:
    """The lines of docs/tasks.md, as a cron job would run them."""
    url = f"{base}/ping/{TOKEN}"
    for i, code in enumerate((0, 0, 1, 0)):
        rid = f"run-{i}"
        _curl(f"{url}/nightly-backup/start?rid={rid}")
        log = f"dumped {1000 * (i + 1)} rows\n<script>alert('x')</script>\npassword=hunter2"
        _curl("--data-binary", log, f"{url}/nightly-backup/{code}?rid={rid}")
    assert _curl("-I", f"{url}/cache-warmup").startswith("HTTP/1.1 200")
    _curl("--data-raw", "disk 91% full", f"{url}/cache-warmup/fail")


async def test_task_pages_in_a_browser(tmp_path: Path) -> None:
    env = {
        "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
        "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VIGIL_SCHEDULER__LEASE_TTL_SECONDS": "3",
    }
    with vigil_server(tmp_path, env=env) as server:
        await _seed_service(tmp_path / "vigil.db")
        await asyncio.to_thread(_report_runs, server.url)
        async with chromium_page() as page:
            problems = console_problems(page)
            await log_in(
                page, server.url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, then="/tasks"
            )

            # Vigil's own jobs are recorded as they run on the leader.
            for _ in range(20):
                jobs = page.locator("section", has=page.get_by_text("Vigil's own jobs"))
                if await jobs.locator("tbody tr").count():
                    break
                await asyncio.sleep(0.5)
                await page.reload()
            rows = page.locator("tbody tr", has=page.get_by_role("link", name="nightly-backup"))
            await expect(rows).to_have_count(1)
            await expect(rows.locator(".state-badge")).to_have_text("✓ Up")
            await expect(rows.locator("svg.task-spark")).to_have_count(1)
            failing = page.locator("tbody tr", has=page.get_by_role("link", name="cache-warmup"))
            await expect(failing.locator(".state-badge")).to_have_text("✕ Failed")
            await page.screenshot(path=str(SCREENSHOTS / "tasks.png"), full_page=True)

            await page.get_by_role("link", name="nightly-backup").click()
            await expect(page.get_by_role("heading", name="nightly-backup")).to_be_visible()
            await page.locator("details summary").first.click()
            log = page.locator("details pre").first
            await expect(log).to_contain_text("<script>alert('x')</script>")  # shown as text
            await expect(log).to_contain_text("password=***")
            await page.get_by_label("On a cron schedule").check()
            await page.get_by_label("Cron expression").fill("30 2 * * *")
            await page.get_by_label("Grace (seconds)").fill("-1")
            await page.get_by_role("button", name="Save schedule").click()
            await expect(page.locator("#task-grace_seconds-error")).to_be_visible()
            await page.get_by_label("Grace (seconds)").fill("900")
            await page.get_by_role("button", name="Save schedule").click()
            await expect(page.get_by_text("Schedule saved.")).to_be_visible()
            await expect(page.get_by_text("cron 30 2 * * * (UTC), grace 15 min")).to_be_visible()
            await page.screenshot(path=str(SCREENSHOTS / "task.png"), full_page=True)

            # The service page loads this service's tasks through htmx.
            await page.goto(f"{server.url}/services/1")
            await expect(page.get_by_role("link", name="nightly-backup")).to_be_visible()
            # The refused form is answered 400 on purpose; nothing else may complain.
            assert [p for p in problems if "status of 400" not in p] == []
