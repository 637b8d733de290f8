"""The overview updates over SSE without a reload (a service goes down, an alert fires), the
stream comes back after the server restarts, and the HTTP & SSE page draws its charts — in a
real Chromium against a real `vigil serve`."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from playwright.async_api import async_playwright, expect

from app.alerts.models import AlertSeries
from app.config import DatabaseSettings
from app.db.base import utcnow
from app.db.engine import create_engine, create_session_factory
from app.services.models import Service
from tests.integration.alerts.engine_seed import add_rule
from tests.support.browser import BROWSER_MARKS, CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, log_in
from tests.support.server import RunningServer, _wait_until_healthy, vigil_server

pytestmark = BROWSER_MARKS

EMAIL = "oncall@example.com"
PASSWORD = "live password 123"
ENV = {
    "VIGIL_ADMIN_EMAIL": EMAIL,
    "VIGIL_ADMIN_PASSWORD": PASSWORD,
    "VIGIL_SCHEDULER__ENABLED": "false",  # only this test changes the states
}


def _sessions(db_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{db_path}"))
    return engine, create_session_factory(engine)


async def _add_service(db_path: Path, name: str, state: str) -> None:
    engine, sessions = _sessions(db_path)
    async with sessions.begin() as session:
        session.add(
            Service(
                name=name,
                base_url=f"https://{name}.example.com",
                ping_token=secrets.token_hex(8),
                state=state,
            )
        )
    await engine.dispose()


async def _fire(db_path: Path, rule_name: str) -> None:
    engine, sessions = _sessions(db_path)
    rule_id = await add_rule(sessions, name=rule_name, signal="service_down", severity="critical")
    now = utcnow()
    async with sessions.begin() as session:
        session.add(
            AlertSeries(
                rule_id=rule_id,
                fingerprint="payments",
                labels={"service": "payments"},
                state="firing",
                value=1.0,
                active_since=now - timedelta(minutes=3),
                firing_since=now - timedelta(minutes=1),
            )
        )
    await engine.dispose()


def _restart(server: RunningServer, tmp_path: Path) -> subprocess.Popen[str]:
    """Stop the server and start another on the same port and database (sessions survive)."""
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=15)
    port = server.url.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")} | {
        "VIGIL_SERVER__PORT": port,
        "VIGIL_SERVER__PUBLIC_URL": server.url,
        "VIGIL_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}",
        "VIGIL_TELEMETRY__TRACING__ENABLED": "false",
        **ENV,
    }
    log = (tmp_path / "restarted.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    _wait_until_healthy(RunningServer(server.url, process, tmp_path / "restarted.log"), 30)
    return process


async def test_the_overview_changes_live_and_survives_a_server_restart(tmp_path: Path) -> None:
    db_path = tmp_path / "vigil.db"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    restarted: subprocess.Popen[str] | None = None
    with vigil_server(tmp_path, env=ENV) as server:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            page = await (
                await browser.new_context(viewport={"width": 1280, "height": 1000})
            ).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await log_in(page, server.url, email=EMAIL, password=PASSWORD)
            services = page.locator("#overview-services")
            alerts = page.locator("#overview-alerts")
            await expect(services).to_contain_text("No services registered")
            await page.evaluate("window.vigilNoReload = true")

            await _add_service(db_path, "payments", "down")
            await expect(services.get_by_role("link", name="payments")).to_be_visible(
                timeout=20_000
            )
            await expect(services).to_contain_text("Down")
            await _fire(db_path, "Payments down")
            await expect(alerts).to_contain_text("1 firing", timeout=20_000)
            await expect(alerts.get_by_role("link", name="Payments down")).to_be_visible()
            assert await page.evaluate("window.vigilNoReload") is True  # no reload happened
            await page.screenshot(path=str(SCREENSHOTS / "page-overview-live.png"), full_page=True)

            # The server goes away and comes back: the stream reconnects by itself.
            restarted = _restart(server, tmp_path)
            try:
                await _add_service(db_path, "search", "down")
                await expect(services.get_by_role("link", name="search")).to_be_visible(
                    timeout=30_000
                )
                assert await page.evaluate("window.vigilNoReload") is True

                # The HTTP & SSE page: its charts have points once a few snapshots exist.
                await page.goto(f"{server.url}/http?range=1m")
                chart = page.locator("figure.ui-chart svg").first
                for _ in range(40):
                    if await chart.locator("circle.chart-point").count() >= 2:
                        break
                    await page.wait_for_timeout(1000)
                    await page.reload()
                assert await chart.locator("polyline.chart-line").count() >= 1
                assert await chart.locator("circle.chart-point").count() >= 2
                assert "Requests per second" in (await chart.get_attribute("aria-label") or "")
                await page.get_by_text("Show the charts' data as a table").click()
                assert await page.locator("details.chart-data tbody tr").count() >= 2
                await expect(page.get_by_role("row", name="/ui/events")).to_be_visible()
                await page.screenshot(
                    path=str(SCREENSHOTS / "page-http-charts.png"), full_page=True
                )
            finally:
                await browser.close()
                restarted.send_signal(signal.SIGTERM)
                restarted.wait(timeout=15)
    assert errors == []
