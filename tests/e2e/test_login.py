"""A real `vigil serve` and a real Chromium: log in through the form, see the overview, log out."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Request

from tests.support.browser import BROWSER_MARKS, SCREENSHOTS, chromium_page, console_problems
from tests.support.server import vigil_server

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "e2e password 123"

pytestmark = BROWSER_MARKS


async def test_login_overview_and_logout_in_a_real_browser(tmp_path: Path) -> None:
    env = {"VIGIL_ADMIN_EMAIL": ADMIN_EMAIL, "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with vigil_server(tmp_path, env=env) as server:
        async with chromium_page(height=860) as page:
            console_errors = console_problems(page)
            failed: list[str] = []
            bad_status: list[str] = []

            def on_failed(request: Request) -> None:
                # ERR_ABORTED: the browser cancelled a load because the page navigated away
                # (this test navigates quickly); any other failure is the app's.
                if request.failure != "net::ERR_ABORTED":
                    failed.append(f"{request.method} {request.url}: {request.failure}")

            async def on_response(response: object) -> None:
                status = response.status  # type: ignore[attr-defined]
                if status >= 400:
                    bad_status.append(f"{status} {response.url}")  # type: ignore[attr-defined]

            page.on("requestfailed", on_failed)
            page.on("response", on_response)

            await page.goto(f"{server.url}/")
            assert page.url.startswith(f"{server.url}/login")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "login.png"))
            await page.get_by_label("E-mail").fill(ADMIN_EMAIL)
            await page.get_by_label("Password").fill(ADMIN_PASSWORD)
            await page.get_by_role("button", name="Log in").click()

            await page.wait_for_url(f"{server.url}/")
            await page.wait_for_load_state("networkidle")
            assert await page.get_by_role("heading", name="Overview", level=1).is_visible()
            assert await page.get_by_text("SQLite").is_visible()
            nav = page.get_by_role("navigation", name="Main")
            assert await nav.get_by_role("link", name="Admin").is_visible()
            assert await page.evaluate("typeof window.htmx") == "object"
            await page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True)
            await page.emulate_media(color_scheme="dark")
            await page.locator("details.usermenu summary").click()
            await page.screenshot(path=str(SCREENSHOTS / "overview-dark.png"), full_page=True)
            await page.emulate_media(color_scheme="light")

            await page.get_by_role("button", name="Log out").click()
            await page.wait_for_url(f"{server.url}/login")
            await page.goto(f"{server.url}/alerts")
            assert page.url.startswith(f"{server.url}/login?next=")

    assert console_errors == []
    assert failed == []
    assert bad_status == []
