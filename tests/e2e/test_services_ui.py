"""A real `vigil serve`, a real HTTP service and a real Chromium: an admin registers the
service through the form, sees it in the list go up, and filters its scraped metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.async_api import ConsoleMessage, Page, Request

from tests.support.browser import BROWSER_MARKS, SCREENSHOTS, chromium_page
from tests.support.server import vigil_server

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "e2e password 123"
METRICS = (
    "# TYPE demo_requests_total counter\n"
    'demo_requests_total{code="200"} 42\n'
    'demo_requests_total{code="500"} 3\n'
    "# TYPE demo_queue_depth gauge\n"
    "demo_queue_depth 7\n"
)

pytestmark = BROWSER_MARKS


class _Demo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = {"/healthz": "ok\n", "/metrics": METRICS}.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write((body or "not found\n").encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def demo_service() -> Iterator[str]:
    """A small real HTTP service with a health URL and Prometheus metrics."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Demo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def _reload_until(page: Page, text: str, *, attempts: int = 30) -> None:
    for _ in range(attempts):
        if await page.get_by_text(text, exact=True).count():
            return
        await page.wait_for_timeout(1000)
        await page.reload()
    raise AssertionError(f"{text!r} did not appear on {page.url}")


async def test_an_admin_adds_a_service_and_sees_it_checked(tmp_path: Path) -> None:
    env = {
        "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
        "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VIGIL_SERVICES__JOB_INTERVAL_SECONDS": "1",
    }
    with demo_service() as demo_url, vigil_server(tmp_path, env=env) as server:
        async with chromium_page() as page:
            console_errors: list[str] = []
            failed: list[str] = []
            bad_status: list[str] = []

            def on_console(message: ConsoleMessage) -> None:
                # HTTP errors are checked exactly through bad_status; the tasks fragment
                # (/services/{id}/tasks) belongs to the tasks pages and their tests.
                text = message.text
                if text.startswith("Failed to load resource") or "/tasks" in text:
                    return
                if message.type in {"error", "warning"}:
                    console_errors.append(f"{message.type}: {text}")

            def on_failed(request: Request) -> None:
                if request.failure != "net::ERR_ABORTED":
                    failed.append(f"{request.method} {request.url}: {request.failure}")

            async def on_response(response: object) -> None:
                status = response.status  # type: ignore[attr-defined]
                if status >= 400 and not response.url.endswith("/tasks"):  # type: ignore[attr-defined]
                    bad_status.append(f"{status} {response.url}")  # type: ignore[attr-defined]

            page.on("console", on_console)
            page.on("pageerror", lambda exc: console_errors.append(f"pageerror: {exc}"))
            page.on("requestfailed", on_failed)
            page.on("response", on_response)

            await page.goto(f"{server.url}/login?next=/services")
            await page.get_by_label("E-mail").fill(ADMIN_EMAIL)
            await page.get_by_label("Password").fill(ADMIN_PASSWORD)
            await page.get_by_role("button", name="Log in").click()
            await page.wait_for_url(f"{server.url}/services")
            assert await page.get_by_text("No services registered").is_visible()

            await page.get_by_role("link", name="Add service").click()
            await page.wait_for_url(f"{server.url}/services/new")
            await page.get_by_label("Name").fill("Demo shop")
            await page.get_by_label("Base URL").fill("ftp://127.0.0.1")
            await page.get_by_role("button", name="Add service").click()
            error = page.locator("#base_url-error")
            assert "must start with http:// or https://" in await error.inner_text()
            assert await page.get_by_label("Name").input_value() == "Demo shop"

            await page.get_by_label("Base URL").fill(demo_url)
            await page.get_by_label("Metrics path").fill("/metrics")
            await page.get_by_label("Interval (seconds)").fill("10")
            await page.get_by_label("Timeout (seconds)").fill("2")
            await page.get_by_label("Labels").fill("team=checkout\nenv=e2e")
            await page.get_by_role("button", name="Add service").click()
            await page.wait_for_url(f"{server.url}/services/*?created=1")
            assert await page.get_by_text("Service registered").is_visible()
            service_url = page.url.split("?")[0]

            await page.goto(f"{server.url}/services")
            row = page.get_by_role("row").filter(has_text="Demo shop")
            await _reload_until(page, "✓ Up")
            assert await row.get_by_text("Up").is_visible()
            assert await row.get_by_text("100\u00a0%").first.is_visible()
            assert await row.get_by_role("link", name="Edit Demo shop").is_visible()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "services.png"), full_page=True)

            await page.goto(service_url)
            await _reload_until(page, "demo_queue_depth")
            metrics = page.locator("#svc-metrics")
            assert await metrics.get_by_text("demo_requests_total").count() == 2
            async with page.expect_response(lambda r: "/metrics?q=" in r.url):
                await page.get_by_label("Filter by metric name").fill("queue")
            await page.wait_for_function(
                "!document.querySelector('#svc-metrics').textContent"
                ".includes('demo_requests_total')"
            )
            assert "1 of 3 samples match" in await metrics.inner_text()
            assert await metrics.get_by_text("demo_queue_depth").is_visible()
            await page.wait_for_load_state("networkidle")
            await page.screenshot(path=str(SCREENSHOTS / "service.png"), full_page=True)

    assert console_errors == [], "\n".join(console_errors)
    assert failed == [], "\n".join(failed)
    assert bad_status == [f"400 {server.url}/services"], bad_status  # the refused first try
