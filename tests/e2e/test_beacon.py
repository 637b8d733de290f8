"""A real Chromium runs the beacon on a page of another origin; a real `vigil serve` stores it.

The page (a stdlib HTTP server on its own port) carries the site's tag, shifts its layout,
and handles a click slowly; leaving it sends LCP, FCP and TTFB (on pagehide) and CLS and
INP (on visibilitychange). The aggregates then appear in the database and on /vitals.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.async_api import ConsoleMessage, async_playwright

from app.config import DatabaseSettings
from app.db import migrate
from app.db.base import utcnow
from app.db.engine import create_engine, create_session_factory
from app.rum.aggregates import write_deltas
from app.rum.deltas import VitalsDelta
from app.rum.histogram import METRICS
from app.rum.models import Site
from app.rum.queries import SiteSummary, site_summary
from app.rum.sites import beacon_tag, create_site
from tests.support.browser import BROWSER_MARKS, CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, log_in
from tests.support.server import free_port, vigil_server

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "e2e password 123"

pytestmark = [*BROWSER_MARKS, pytest.mark.slow]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
{tag}
</head><body>
<h1>Products</h1>
<p id="status">Welcome to the shop. This paragraph is the largest text on the page.</p>
<button id="buy" type="button">Buy</button>
<script>
  // A late banner pushes the content down (CLS), and the button's handler blocks the main
  // thread for 300 ms before it paints (INP).
  setTimeout(function () {{
    var banner = document.createElement("div");
    banner.textContent = "Free shipping this week";
    banner.style.height = "240px";
    document.body.insertBefore(banner, document.body.firstChild);
  }}, 300);
  document.getElementById("buy").addEventListener("click", function () {{
    var start = performance.now();
    while (performance.now() - start < 300) {{}}
    document.getElementById("status").textContent = "Added to the basket.";
  }});
</script>
</body></html>
"""


class _Shop(BaseHTTPRequestHandler):
    tag = ""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        text = PAGE.format(tag=self.tag) if self.path.startswith("/products") else "<p>bye</p>"
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve_shop(port: int, tag: str) -> Iterator[str]:
    handler = type("Shop", (_Shop,), {"tag": tag})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def _delta(site_id: int, days_ago: int, metric: str, values: list[float]) -> VitalsDelta:
    d = VitalsDelta.empty(
        site_id=site_id,
        day=utcnow().date() - timedelta(days=days_ago),
        page="/checkout",
        device="desktop",
        metric=metric,
    )
    for value in values:
        d.count(value)
    return d


SEEDED = {  # a second site with a week of history, to look at the trend chart
    "LCP": [1800, 2300, 2600, 3100, 4200],
    "INP": [90, 150, 220, 260, 620],
    "CLS": [0.02, 0.05, 0.08, 0.12, 0.3],
    "FCP": [900, 1200, 1500, 1900, 3300],
    "TTFB": [200, 350, 500, 900, 1900],
}


async def _prepare(db_url: str, shop_origin: str) -> tuple[Site, Site]:
    """Migrate, create the shop's site (origin = the test page's) and a seeded one."""
    engine = create_engine(DatabaseSettings(url=db_url))
    try:
        await migrate.upgrade(engine)
        sessions = create_session_factory(engine)
        shop = await create_site(sessions, name="Shop", allowed_origins=[shop_origin])
        seeded = await create_site(sessions, name="Seeded", allowed_origins=[shop_origin])
        deltas = [
            _delta(seeded.id, days_ago, metric, [v * (1 + 0.08 * (days_ago % 3)) for v in values])
            for days_ago in range(1, 7)
            if days_ago != 4  # a day without data: a gap in the line
            for metric, values in SEEDED.items()
        ]
        await write_deltas(sessions, deltas, now=utcnow())
        return shop, seeded
    finally:
        await engine.dispose()


async def _summary(db_url: str, site_id: int) -> SiteSummary:
    engine = create_engine(DatabaseSettings(url=db_url))
    try:
        return await site_summary(
            create_session_factory(engine),
            site_id=site_id,
            range_days=1,
            device="all",
            today=utcnow().date(),
        )
    finally:
        await engine.dispose()


async def _wait_for_all_metrics(db_url: str, site_id: int, within: float = 8) -> SiteSummary:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        summary = await _summary(db_url, site_id)
        if all(m.n for m in summary.metrics):
            return summary
        if asyncio.get_running_loop().time() > deadline:
            missing = [m.metric for m in summary.metrics if not m.n]
            raise AssertionError(f"metrics not stored after {within}s: {missing}")
        await asyncio.sleep(0.25)


def _p75_text(page_html: str, metric: str) -> str:
    match = re.search(rf'data-testid="p75-{metric}">([^<]+)<', page_html)
    assert match, f"no p75 cell for {metric}"
    return html.unescape(match.group(1))


def _as_ms(text: str) -> float:
    number, unit = text.split()
    return float(number) * (1000 if unit == "s" else 1)


async def test_a_page_view_in_chromium_reaches_the_database_and_the_vitals_page(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    shop_port = free_port()
    shop_origin = f"http://127.0.0.1:{shop_port}"
    shop, seeded = await _prepare(db_url, shop_origin)
    env = {"VIGIL_ADMIN_EMAIL": ADMIN_EMAIL, "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD}
    page_errors: list[str] = []
    bad_status: list[str] = []

    with vigil_server(tmp_path, env=env) as server:
        tag = beacon_tag(public_url=server.url, site=shop)
        shop_urls = _serve_shop(shop_port, tag)
        shop_url = next(shop_urls)
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
                context = await browser.new_context(viewport={"width": 1280, "height": 860})
                page = await context.new_page()

                def on_console(message: ConsoleMessage) -> None:
                    if message.type == "error":
                        page_errors.append(message.text)

                page.on("console", on_console)
                page.on("pageerror", lambda exc: page_errors.append(str(exc)))

                await page.goto(f"{shop_url}/products/42?ref=mail")
                await page.wait_for_timeout(800)  # the banner has shifted the layout
                await page.get_by_role("button", name="Buy").click()
                await page.wait_for_timeout(1500)  # INP needs > 1 s visible after the click
                await page.goto(f"{shop_url}/bye")  # hidden: pagehide, then visibilitychange

                summary = await _wait_for_all_metrics(db_url, shop.id)
                by_metric = {m.metric: m for m in summary.metrics}
                assert {m: by_metric[m].n for m in METRICS} == dict.fromkeys(METRICS, 1)
                assert 0 < (by_metric["FCP"].p75 or 0) < 3000
                assert 0 < (by_metric["LCP"].p75 or 0) < 4000
                assert 0 <= (by_metric["TTFB"].p75 or 0) < 800
                assert 0.05 < (by_metric["CLS"].p75 or 0) < 0.6
                assert 250 < (by_metric["INP"].p75 or 0) < 1000

                async def on_response(response: object) -> None:
                    status = response.status  # type: ignore[attr-defined]
                    if status >= 400:
                        bad_status.append(f"{status} {response.url}")  # type: ignore[attr-defined]

                page.on("response", on_response)
                vitals = f"/vitals?site={shop.id}&range=1&device=all"
                await log_in(
                    page, server.url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, then=vitals
                )
                await page.wait_for_load_state("networkidle")
                text = await page.content()
                assert 0 < _as_ms(_p75_text(text, "LCP")) < 4000
                assert 0 < _as_ms(_p75_text(text, "FCP")) < 3000
                assert 0 <= _as_ms(_p75_text(text, "TTFB")) < 800
                assert 0.05 < float(_p75_text(text, "CLS")) < 0.6
                assert 250 < _as_ms(_p75_text(text, "INP")) < 1000
                pages_table = page.get_by_role("table")
                assert await pages_table.get_by_text("/products/:id").is_visible()

                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SCREENSHOTS / "vitals.png"), full_page=True)
                await page.emulate_media(color_scheme="dark")
                await page.screenshot(path=str(SCREENSHOTS / "vitals-dark.png"), full_page=True)
                await page.emulate_media(color_scheme="light")

                await page.goto(f"{server.url}/vitals?site={seeded.id}&range=7")
                assert await page.locator("polyline").count() >= 5
                await page.screenshot(path=str(SCREENSHOTS / "vitals-trend.png"), full_page=True)
                await page.emulate_media(color_scheme="dark")
                await page.screenshot(
                    path=str(SCREENSHOTS / "vitals-trend-dark.png"), full_page=True
                )
                await page.emulate_media(color_scheme="light")

                await page.goto(f"{server.url}/vitals/sites/{shop.id}")
                assert tag in html.unescape(await page.content())
                await page.screenshot(path=str(SCREENSHOTS / "rum-site.png"), full_page=True)
                await browser.close()
        finally:
            shop_urls.close()

    assert page_errors == []
    assert bad_status == []
