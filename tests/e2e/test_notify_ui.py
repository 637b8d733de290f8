"""A real `vigil serve` and a real Chromium: an admin adds a webhook channel through the
form (fields swapped by HTMX, inline errors), sends a test, and the leader's dispatcher job
delivers an alert notification written to the outbox; a failing one shows up as dead."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from playwright.async_api import Page

from app.config import DatabaseSettings
from app.db.engine import create_engine, create_session_factory
from app.notify.outbox import enqueue
from tests.integration.notify.factories import notification
from tests.integration.notify.receivers import webhook_receiver
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
SECRET = "e2e-webhook-secret-77a1"

pytestmark = BROWSER_MARKS


async def _add_webhook(page: Page, base: str, *, name: str, url: str) -> None:
    await page.goto(f"{base}/admin/channels/new")
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("URL", exact=True).fill(url)
    await page.get_by_label("Signing secret").fill(SECRET)
    await page.get_by_role("button", name="Add channel").click()
    await page.wait_for_url(f"{base}/admin/channels/*?created=1")


async def _enqueue(db_path: Path, key: str) -> None:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{db_path}"))
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        await enqueue(session, notification(key))
    await engine.dispose()


async def test_admin_adds_a_channel_tests_it_and_the_dispatcher_delivers(tmp_path: Path) -> None:
    env = {
        "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
        "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VIGIL_NOTIFY__DISPATCH_INTERVAL_SECONDS": "1",
        "VIGIL_NOTIFY__MAX_ATTEMPTS": "1",
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        webhook_receiver() as receiver,
        webhook_receiver(status=410) as gone,
        vigil_server(tmp_path, env=env) as server,
    ):
        async with chromium_page() as page:
            problems = console_problems(page)
            await log_in(page, server.url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)

            await page.goto(f"{server.url}/admin")
            await page.get_by_role("link", name="Notification channels").click()
            await page.wait_for_url(f"{server.url}/admin/channels")
            assert await page.get_by_text("No channels yet").is_visible()
            await page.get_by_role("link", name="Add a channel").click()

            # Choosing a kind swaps its fields in (HTMX).
            await page.get_by_label("Kind").select_option("email")
            await page.get_by_label("SMTP host").wait_for()
            assert await page.get_by_label("Signing secret").count() == 0
            await page.screenshot(
                path=str(SCREENSHOTS / "notify-channel-form-email.png"), full_page=True
            )
            await page.get_by_label("Kind").select_option("webhook")
            await page.get_by_label("Signing secret").wait_for()

            # A bad URL is refused at its field; nothing is saved.
            await page.get_by_label("Name").fill("ops hook")
            await page.get_by_label("URL", exact=True).fill("hooks.example.com/in")
            await page.get_by_label("Signing secret").fill(SECRET)
            await page.get_by_role("button", name="Add channel").click()
            error = page.locator("#config-url-error")
            await error.wait_for()
            assert "expected an http:// or https:// URL" in await error.inner_text()
            assert (
                await page.get_by_label("URL", exact=True).get_attribute("aria-invalid") == "true"
            )
            await page.screenshot(
                path=str(SCREENSHOTS / "notify-channel-form-error.png"), full_page=True
            )

            await _add_webhook(page, server.url, name="ops hook", url=receiver.url)
            assert await page.get_by_text("Channel created.").is_visible()
            assert SECRET not in await page.content()
            await page.get_by_role("button", name="Send test notification").click()
            await page.locator("#test-result").get_by_text("Delivered.").wait_for()
            assert page.url.endswith("?created=1")  # HTMX: no navigation
            await page.screenshot(
                path=str(SCREENSHOTS / "notify-channel-tested.png"), full_page=True
            )
            (test_request,) = receiver.requests
            assert test_request.signature_ok(SECRET)

            await _add_webhook(page, server.url, name="gone hook", url=gone.url)

            # An alert transition written to the outbox: the leader's job delivers it.
            await _enqueue(tmp_path / "vigil.db", "e2e-1")
            deadline = time.monotonic() + 20
            while "e2e-1" not in receiver.delivered_keys() or not gone.requests:
                assert time.monotonic() < deadline, "the dispatcher job did not deliver"
                await asyncio.sleep(0.2)
            (delivered,) = [r for r in receiver.delivered if r.json()["idempotency_key"] == "e2e-1"]
            assert delivered.signature_ok(SECRET)

            await page.goto(f"{server.url}/admin/notifications")
            row = page.get_by_role("row").filter(has_text="gone hook")
            await row.get_by_text("Dead (given up)").wait_for()
            assert "receiver answered HTTP 410" in await row.inner_text()
            await page.screenshot(
                path=str(SCREENSHOTS / "notify-notifications.png"), full_page=True
            )
            await page.goto(f"{server.url}/admin/channels")
            await page.screenshot(path=str(SCREENSHOTS / "notify-channels.png"), full_page=True)

    # The refused form answers 400 on purpose; Chromium reports that status on the console.
    expected = "error: Failed to load resource: the server responded with a status of 400"
    assert [p for p in problems if not p.startswith(expected)] == []
    assert receiver.delivered_keys()["e2e-1"] == 1
    assert SECRET not in server.output()
