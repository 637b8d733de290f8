"""A real `vigil serve` and a real Chromium: write a rule through the form while the live
preview follows, reach every control by keyboard, and look at the alert pages."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy import select

from app.alerts.models import AlertRule, AlertSeries
from app.config import DatabaseSettings
from app.db.base import utcnow
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
FORM_CONTROLS = [
    "name",
    "signal",
    "param.service_id",
    "comparison",
    "threshold",
    "for",
    "keep_firing_for",
    "severity",
    "no_data",
    "labels",
    "annotations",
    "enabled",
    "submit",
    "cancel",
]
"""Every control of the rules form for the "Service down" signal, in Tab order."""

pytestmark = BROWSER_MARKS


def _sessions(db_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{db_path}"))
    return engine, create_session_factory(engine)


async def _seed_services(db_path: Path) -> None:
    """Two services: shop is down, blog is up."""
    engine, sessions = _sessions(db_path)
    async with sessions.begin() as session:
        for name, state in (("shop", "down"), ("blog", "up")):
            session.add(
                Service(
                    name=name,
                    base_url=f"https://{name}.example.com",
                    ping_token=f"token-{name}",
                    state=state,
                )
            )
    await engine.dispose()


async def _seed_firing(db_path: Path, rule_name: str) -> None:
    """What the evaluator would store once the rule has held for its ``for``."""
    engine, sessions = _sessions(db_path)
    now = utcnow()
    async with sessions.begin() as session:
        rule = (await session.scalars(select(AlertRule).where(AlertRule.name == rule_name))).one()
        rule.health, rule.last_evaluated_at, rule.last_evaluation_seconds = "ok", now, 0.004
        session.add(
            AlertSeries(
                rule_id=rule.id,
                fingerprint="e2e",
                labels={"service": "shop"},
                state="firing",
                value=1.0,
                active_since=now - timedelta(minutes=4),
                firing_since=now - timedelta(minutes=2),
                last_seen_at=now,
                last_notified_at=now - timedelta(minutes=2),
            )
        )
    await engine.dispose()


async def _focused(page: Page) -> str:
    """The focused control: its name, ``submit`` for the button, ``cancel`` for the link."""
    return str(
        await page.evaluate(
            """() => {
              const e = document.activeElement;
              if (!e) return "";
              if (e.tagName === "BUTTON") return e.type;
              if (e.tagName === "A") return e.textContent.trim().toLowerCase();
              return e.name || e.id || e.tagName;
            }"""
        )
    )


async def test_write_a_rule_with_the_live_preview_and_the_keyboard(tmp_path: Path) -> None:
    env = {
        "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
        "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VIGIL_SCHEDULER__ENABLED": "false",  # the seeded states stay as they are
    }
    with vigil_server(tmp_path, env=env) as server:
        await _seed_services(tmp_path / "vigil.db")
        async with chromium_page() as page:
            problems = console_problems(page)
            await log_in(
                page,
                server.url,
                email=ADMIN_EMAIL,
                password=ADMIN_PASSWORD,
                then="/alerts/rules/new",
            )
            preview = page.locator("#rule-preview")

            await page.get_by_label("Name").fill("Shop is down")
            await page.get_by_label("Signal").select_option("service_down")
            await expect(page.get_by_label("Service")).to_be_visible()  # swapped in by HTMX
            await expect(page.get_by_label("Metric")).to_have_count(0)
            await page.get_by_label("Fires when the value is").select_option("==")
            await page.get_by_label("Threshold").fill("1")
            await expect(preview).to_contain_text(
                'Would be firing now for 1 series: service="shop"', timeout=10_000
            )
            await page.get_by_label("Threshold").fill("2")
            await expect(preview).to_contain_text("Not firing", timeout=10_000)
            await page.get_by_label("Threshold").fill("0")
            await page.get_by_label("Fires when the value is").select_option(">=")
            await expect(preview).to_contain_text(
                "Would be firing now for 2 series", timeout=10_000
            )
            await page.get_by_label("Fires when the value is").select_option("==")
            await page.get_by_label("Threshold").fill("1")
            await page.get_by_label("For", exact=True).fill("2m")
            await page.get_by_label("Annotations").fill("summary={{ $labels.service }} is down")
            await expect(preview).to_contain_text("for 1 series", timeout=10_000)
            await asyncio.sleep(0.3)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "rule-form.png"), full_page=True)

            # Tab order: from the name field through every control to Cancel.
            await page.get_by_label("Name").focus()
            order = [await _focused(page)]
            for _ in range(len(FORM_CONTROLS) + 5):
                await page.keyboard.press("Tab")
                order.append(await _focused(page))
                if order[-1] == "cancel":
                    break
            assert order == FORM_CONTROLS
            controls = await page.eval_on_selector_all(
                "#rule-form input:not([type=hidden]), #rule-form select, "
                "#rule-form textarea, #rule-form button",
                "els => els.map(e => e.tagName === 'BUTTON' ? e.type : e.name)",
            )
            assert set(controls) <= set(FORM_CONTROLS)
            labelled = await page.eval_on_selector_all(
                "#rule-form input:not([type=hidden]), #rule-form select, #rule-form textarea",
                "els => els.filter(e => e.labels.length === 0).map(e => e.name)",
            )
            assert labelled == []

            # Submit from the keyboard.
            await page.get_by_role("button", name="Create rule").focus()
            await page.keyboard.press("Enter")
            await page.wait_for_url(re.compile(r".*/alerts/rules/\d+\?done=created"))
            await expect(page.get_by_role("heading", name="Shop is down", level=1)).to_be_visible()
            await expect(page.get_by_text("value == 1 for 2m")).to_be_visible()
            await page.screenshot(path=str(SCREENSHOTS / "rule.png"), full_page=True)

            await _seed_firing(tmp_path / "vigil.db", "Shop is down")
            await page.goto(f"{server.url}/alerts")
            await expect(page.get_by_role("heading", name="Firing and pending")).to_be_visible()
            await expect(page.locator(".alert-series-table")).to_contain_text('service="shop"')
            await expect(page.locator(".alert-series-table")).to_contain_text("Sent 2")
            await expect(page.locator(".alert-rules-table")).to_contain_text("Firing (1)")
            await page.screenshot(path=str(SCREENSHOTS / "alerts.png"), full_page=True)

            await page.goto(f"{server.url}/alerts/silences")
            await page.get_by_label("Matchers").fill('alertname="Shop is down"\nservice=~"sh.*"')
            await page.get_by_label("Comment").fill("Planned database upgrade, OPS-42")
            await page.get_by_role("button", name="Create silence").click()
            await page.wait_for_url(f"{server.url}/alerts/silences?done=silenced")
            row = page.locator(".alert-silences-table tbody tr").first
            await expect(row).to_contain_text("Active")
            await expect(row).to_contain_text(ADMIN_EMAIL)
            await page.screenshot(path=str(SCREENSHOTS / "silences.png"), full_page=True)

            await page.goto(f"{server.url}/alerts/maintenance")
            await page.get_by_label("Name").fill("Weekly backups")
            await page.get_by_label("Covers").select_option(label="shop")
            await page.get_by_label("Weekly").check()
            await page.get_by_label("Day").select_option(label="Sunday")
            await page.get_by_label("Start time").fill("02:30")
            await page.get_by_label("Length (minutes)").fill("90")
            await page.get_by_label("Time zone").fill("Europe/Berlin")
            await page.get_by_role("button", name="Create window").click()
            await page.wait_for_url(f"{server.url}/alerts/maintenance?done=window")
            await expect(page.locator("main table")).to_contain_text(
                "Every Sunday at 02:30 Europe/Berlin for 1h30m"
            )
            await page.screenshot(path=str(SCREENSHOTS / "maintenance.png"), full_page=True)
    assert problems == []
