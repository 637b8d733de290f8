"""Debian's Chromium for browser tests: never a browser a test tool downloads itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import ConsoleMessage, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
"""A normal browser user agent: HeadlessChrome is a crawler UA, whose beacons are dropped."""
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--user-agent={DESKTOP_UA}",  # the launch flag covers every navigation
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
"""Screenshots are test artifacts (gitignored); docs/ copies the ones it shows."""

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


@asynccontextmanager
async def chromium_page(*, height: int = 900) -> AsyncIterator[Page]:
    """A page 1280 px wide in a fresh headless Debian Chromium, closed on exit."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield await (
                await browser.new_context(viewport={"width": 1280, "height": height})
            ).new_page()
        finally:
            await browser.close()


def console_problems(page: Page) -> list[str]:
    """The page's console errors and warnings and uncaught errors, appended as they happen."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    return problems


async def log_in(page: Page, base_url: str, *, email: str, password: str, then: str = "/") -> None:
    """Sign in through the login form and wait until it lands on ``then``."""
    await page.goto(f"{base_url}/login" + ("" if then == "/" else f"?next={quote(then, safe='/')}"))
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{base_url}{then}")
