"""Every dashboard page in a real Chromium against a real `vigil serve`, as an admin and as
a viewer: it loads with no console error and no failed request, a screenshot of it is
written to artifacts/screenshots/page-<name>.png, and a viewer sees no edit control.

The pages are read from the app's route table (every GET route outside the machine
endpoints), so a page added later is walked too; its path parameters are filled with ids
of seeded rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import ConsoleMessage, Page, Request, Response, async_playwright

from app.auth.users import create_user
from app.config import DatabaseSettings
from app.db.base import utcnow
from app.db.engine import create_engine, create_session_factory
from tests.conftest import make_settings
from tests.integration.alerts.engine_seed import (
    add_checks,
    add_rule,
    add_service,
    add_site,
    add_task,
    add_vitals,
    add_webhook_channel,
)
from tests.support.browser import BROWSER_MARKS, CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, log_in
from tests.support.server import vigil_server

pytestmark = BROWSER_MARKS

ADMIN_EMAIL = "admin@example.com"
VIEWER_EMAIL = "viewer@example.com"
PASSWORD = "walk password 123"
NOT_PAGES = re.compile(
    r"^/(api|static|rum|ping|sd|schema|metrics|healthz|readyz|login|logout)(/|$)|^/ui/events$"
)
"""Machine endpoints, the login form (tests/e2e/test_login.py) and the live stream."""
EDIT_WORDS = re.compile(
    r"^\s*(add|new|edit|delete|remove|save|create|disable|enable|duplicate|import|pause|"
    r"resume|revoke|regenerate|expire|send test)\b",
    re.IGNORECASE,
)
EDIT_CONTROLS_JS = """
(pattern) => {
  const words = new RegExp(pattern, "i");
  const found = [];
  for (const form of document.querySelectorAll("form")) {
    const method = (form.getAttribute("method") || "get").toLowerCase();
    if (method !== "get" && form.getAttribute("action") !== "/logout") {
      found.push("form " + method + " " + form.getAttribute("action"));
    }
  }
  for (const el of document.querySelectorAll("[hx-post],[hx-put],[hx-patch],[hx-delete]")) {
    found.push("htmx " + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll("a, button, input[type=submit]")) {
    const text = (el.innerText || el.value || "").trim();
    if (words.test(text) && !el.closest("form[action='/logout']")) found.push("control " + text);
  }
  return found;
}
"""


@dataclass
class Problems:
    """What went wrong while a page loaded."""

    items: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type in {"error", "warning"}:
                self.items.append(f"console {message.type}: {message.text}")

        def on_failed(request: Request) -> None:
            if request.failure != "net::ERR_ABORTED":  # navigating away cancels the stream
                self.items.append(f"failed {request.method} {request.url}: {request.failure}")

        def on_response(response: Response) -> None:
            if response.status >= 400:
                self.items.append(f"HTTP {response.status} {response.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.items.append(f"page error: {exc}"))
        page.on("requestfailed", on_failed)
        page.on("response", on_response)


def page_paths(ids: dict[str, int]) -> tuple[list[str], list[str]]:
    """GET paths of the dashboard (parameters filled from ``ids``), and parameters that no
    seeded row fills."""
    from app.main import create_app

    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    paths, unknown = [], []
    for route in app.routes:
        if "GET" not in getattr(route, "methods", ()) or NOT_PAGES.search(route.path):
            continue
        path = route.path
        for name in re.findall(r"\{(\w+)(?::\w+)?\}", path):
            if name not in ids:
                unknown.append(f"{route.path}: {name}")
                break
            path = re.sub(r"\{" + name + r"(?::\w+)?\}", str(ids[name]), path)
        else:
            paths.append(path)
    return sorted(set(paths)), unknown


def shot_name(path: str) -> str:
    name = re.sub(r"\d+", "id", path.strip("/")).replace("/", "-")
    return name or "overview"


async def seed(db_path: Path) -> dict[str, int]:
    """A site with Web Vitals, a service with checks and a task, a rule, a channel, a viewer."""
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{db_path}"))
    sessions = create_session_factory(engine)
    now = utcnow()
    try:
        site = await add_site(sessions, "Shop front")
        for days in range(3):
            for metric, values in {"LCP": [1800, 2600, 4200], "CLS": [0.05, 0.12]}.items():
                await add_vitals(sessions, site, metric, values, now=now - timedelta(days=days))
        service = await add_service(sessions, "checkout", state="up")
        await add_service(sessions, "search", state="down")
        for minutes in range(0, 120, 5):
            await add_checks(
                sessions, service, [40 + minutes % 30], at=now - timedelta(minutes=minutes)
            )
        task = await add_task(sessions, service, "nightly-backup", status="failed")
        rule = await add_rule(sessions, name="Checkout down", signal="service_down")
        channel = await add_webhook_channel(sessions)
        await create_user(sessions, email=VIEWER_EMAIL, password=PASSWORD, role="viewer")
    finally:
        await engine.dispose()
    return {
        "site_id": site,
        "service_id": service,
        "task_id": task,
        "rule_id": rule,
        "channel_id": channel,
    }


async def walk(page: Page, url: str, path: str, problems: Problems) -> Any:
    """Open ``path``; returns its response (None for a fragment or a download)."""
    probe = await page.request.get(url + path)
    content_type = probe.headers.get("content-type", "")
    if "text/html" not in content_type or "<!doctype html>" not in (await probe.text())[:50]:
        assert probe.status < 500, f"{path}: HTTP {probe.status}"
        return None  # an htmx fragment or a download, not a page
    before = len(problems.items)
    response = await page.goto(url + path, wait_until="networkidle")
    await page.wait_for_timeout(300)  # the live stream's first fragments swap in
    assert response is not None
    if len(problems.items) > before:
        problems.items[before:] = [f"{path}: {item}" for item in problems.items[before:]]
    return response


async def test_every_page_loads_cleanly_for_an_admin_and_a_viewer(tmp_path: Path) -> None:
    env = {
        "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
        "VIGIL_ADMIN_PASSWORD": PASSWORD,
        "VIGIL_SCHEDULER__ENABLED": "false",  # seeded states stay as they are
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with vigil_server(tmp_path, env=env) as server:
        ids = await seed(tmp_path / "vigil.db")
        paths, unknown = page_paths(ids)
        assert not unknown, f"give these route parameters a seeded id: {unknown}"
        assert {"/", "/http", "/services", "/alerts", "/vitals"} <= set(paths)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            walked: dict[str, list[str]] = {}
            problems = Problems()
            for email in (ADMIN_EMAIL, VIEWER_EMAIL):
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                page = await context.new_page()
                problems.watch(page)
                await log_in(page, server.url, email=email, password=PASSWORD)
                is_admin = email == ADMIN_EMAIL
                seen = walked.setdefault("admin" if is_admin else "viewer", [])
                for path in paths:
                    if not is_admin:
                        status = (await page.request.get(server.url + path)).status
                        if status == 403:  # an admin page: refused, as it should be
                            continue
                    response = await walk(page, server.url, path, problems)
                    if response is None:
                        continue
                    seen.append(path)
                    assert response.status == 200, f"{path}: HTTP {response.status}"
                    assert await page.locator("main h1").count() == 1, f"{path}: one h1"
                    suffix = "" if is_admin else "-viewer"
                    await page.screenshot(
                        path=str(SCREENSHOTS / f"page-{shot_name(path)}{suffix}.png"),
                        full_page=True,
                    )
                    if not is_admin:
                        controls = await page.evaluate(EDIT_CONTROLS_JS, EDIT_WORDS.pattern)
                        assert controls == [], f"{path}: edit controls for a viewer: {controls}"
                await context.close()
            await browser.close()
    assert problems.items == [], "\n".join(problems.items)
    assert len(walked["admin"]) > len(walked["viewer"]) >= 10, walked
    assert "/admin" not in walked["viewer"]
