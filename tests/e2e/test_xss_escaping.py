"""Markup people or machines type into Vigil is shown as text and never runs.

Against a real `vigil serve`, XSS payloads go in the way users put them there: service names
and labels, a site name, alert rule names, labels and annotations, a silence and channel
names through the JSON API with an admin's token; task logs as ping bodies; page paths as
RUM beacons. Then a real Chromium signed in as the admin opens every page that shows them
(and the overview's live SSE fragments and the rule form's HTMX preview) and checks that no
dialog opened, ``window.__xss`` stayed undefined, no element, attribute or script came from
a payload, the console stayed clean (a blocked inline script would log a CSP violation), and
each payload is on the page as its literal text. The notification a webhook receives carries
the annotation rendered with ``$labels`` of a service whose name is a payload, as text.
Screenshots go to artifacts/screenshots/xss-<page>.png.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Dialog, Page

from app.db.base import utcnow
from app.rum.canonical import canonical_page
from tests.integration.notify.receivers import webhook_receiver
from tests.support.admin_client import issue_api_token, signed_in
from tests.support.browser import (
    BROWSER_MARKS,
    DESKTOP_UA,
    SCREENSHOTS,
    chromium_page,
    console_problems,
    log_in,
)
from tests.support.server import vigil_server

pytestmark = BROWSER_MARKS

ADMIN_EMAIL = "admin@example.com"
PASSWORD = "xss password 123"
ORIGIN = "https://shop.example.com"
TASK = "nightly-backup"

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=1">'
IMG_ALERT = "<img src=x onerror=alert(document.domain)>"
SVG = "<svg onload=window.__xss=1>"
ATTR = "' onmouseover='window.__xss=1' x='"
JS_URL = "javascript:window.__xss=1"
TEMPLATE = "{{ 7*7 }}"
TEXTAREA = "</textarea><script>window.__xss=1</script>"
PRE = "</pre></details><script>window.__xss=1</script>"

SHOP = f"shop {TEMPLATE} {SCRIPT}"
"""The service that owns the task: its name reaches the alert's labels and annotation."""
CART = f"cart {IMG}"
SEARCH = f"search {ATTR}"
SHOP_LABELS = {"team": IMG, "runbook": JS_URL, "note": TEXTAREA}
SITE = f"Shop front {SCRIPT}"
RULE = f"Backup failed {SCRIPT}"
RULE_LABELS = {"team": SVG}
RULE_ANNOTATIONS = {
    "summary": "{{ $labels.service }} failed " + IMG_ALERT,
    "runbook_url": JS_URL,
    "description": TEXTAREA,
}
LIVE_CHANNEL = f"hook {SCRIPT}"
DEAD_CHANNEL = f"dead hook {IMG}"
SILENCE_COMMENT = f"DB move {SCRIPT}"
LOG_LINES = ["dump started", SCRIPT, IMG_ALERT, TEXTAREA, PRE, TEMPLATE, JS_URL]
RAW_PAGES = [f"/{SCRIPT}", f"/{IMG}", f"/cart/{TEMPLATE}", f"/{JS_URL}", f"/products/42/{SVG}"]
PAGES = [canonical_page(raw) for raw in RAW_PAGES]

ENV = {
    "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
    "VIGIL_ADMIN_PASSWORD": PASSWORD,
    "VIGIL_ALERTS__EVAL_INTERVAL_SECONDS": "1",
    "VIGIL_ALERTS__CREATE_DEFAULT_RULES": "false",
    "VIGIL_NOTIFY__DISPATCH_INTERVAL_SECONDS": "1",
    "VIGIL_RUM__FLUSH_INTERVAL_SECONDS": "0.5",
}

PAGE_STATE_JS = """
() => {
  const injected = [];
  for (const el of document.querySelectorAll("*")) {
    for (const name of el.getAttributeNames()) {
      if (name.startsWith("on")) injected.push(`${el.tagName} ${name}`);
    }
    for (const name of ["href", "src", "action", "formaction"]) {
      const value = el.getAttribute(name);
      if (value && /^\\s*javascript:/i.test(value)) injected.push(`${el.tagName} ${name}=${value}`);
    }
  }
  for (const el of document.querySelectorAll('img[src="x"], iframe, object, embed, base')) {
    injected.push(el.outerHTML.slice(0, 100));
  }
  for (const s of document.scripts) {
    const url = s.src ? new URL(s.src) : null;
    if (!url || url.origin !== location.origin || !url.pathname.startsWith("/static/")) {
      injected.push("script " + s.outerHTML.slice(0, 100));
    }
  }
  const values = [...document.querySelectorAll("input, textarea, option")].map(
    (el) => (el.tagName === "OPTION" ? el.textContent : el.value));
  return {
    xss: typeof window.__xss,
    injected,
    text: document.body.textContent,
    values,
    title: document.title,
  };
}
"""
SSE_COUNTER_JS = """
window.__sseMessages = 0;
document.addEventListener("htmx:sseMessage", () => { window.__sseMessages += 1; });
"""
RAW_SSE_JS = """
(names) => new Promise((resolve) => {
  const source = new EventSource("/ui/events");
  const seen = {};
  const finish = () => { source.close(); resolve(seen); };
  for (const name of names) {
    source.addEventListener(name, (event) => {
      seen[name] = event.data;
      if (names.every((n) => n in seen)) finish();
    });
  }
  setTimeout(finish, 10000);
})
"""


@dataclass
class Check:
    """A page, the payloads it must show as text (or as form values), and a name."""

    name: str
    path: str
    texts: list[str]
    values: list[str] = field(default_factory=list)
    title: str | None = None
    ready: Callable[[Page], Any] | None = None


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def _seed(api: httpx.AsyncClient, *, live_url: str, dead_url: str) -> dict[str, int]:
    """Every payload stored the way users store it; the ids of the rows pages show."""
    ids: dict[str, int] = {}
    site = _ok(await api.post("/api/v1/sites", json={"name": SITE, "allowed_origins": [ORIGIN]}))
    ids["site"] = site["id"]
    key = site["key"]
    shop = _ok(
        await api.post(
            "/api/v1/services",
            json={"name": SHOP, "base_url": "http://127.0.0.1:9", "labels": SHOP_LABELS},
        )
    )
    ids["service"] = shop["id"]
    for name in (CART, SEARCH):
        _ok(
            await api.post(
                "/api/v1/services", json={"name": name, "base_url": "http://127.0.0.1:9"}
            )
        )
    channels = []
    for name, url in ((LIVE_CHANNEL, live_url), (DEAD_CHANNEL, dead_url)):
        body = {"name": name, "kind": "webhook", "config": {"url": url, "secret": "s" * 32}}
        channels.append(_ok(await api.post("/api/v1/channels", json=body))["id"])
    ids["channel"] = channels[1]

    rule: dict[str, Any] = {
        "name": RULE,
        "signal": "task_failed",
        "comparison": ">",
        "threshold": 0,
        "severity": "critical",
        "labels": RULE_LABELS,
        "annotations": RULE_ANNOTATIONS,
        "channel_ids": channels,
    }
    # A template that is not Vigil's tiny annotation language is refused, not evaluated.
    for injected in (TEMPLATE, "{{ $labels.service.__class__ }}", "{{ $value }}{{ config }}"):
        refused = await api.post(
            "/api/v1/rules", json=rule | {"name": "injected", "annotations": {"summary": injected}}
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["detail"].startswith("annotations: summary: unknown expression")
    ids["rule"] = _ok(await api.post("/api/v1/rules", json=rule))["id"]
    silence = {
        "matchers": [{"name": "service", "op": "=", "value": SVG}],  # matches nothing here
        "ends_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "comment": SILENCE_COMMENT,
    }
    _ok(await api.post("/api/v1/silences", json=silence))

    ping = f"/ping/{shop['ping_token']}/{TASK}"
    assert (await api.post(f"{ping}/start?rid=r1")).status_code == 200
    assert (await api.post(f"{ping}/fail?rid=r1", content="\n".join(LOG_LINES))).status_code == 200

    for raw in RAW_PAGES:
        beacon = {"page": raw, "vw": 1280, "events": [{"name": "LCP", "value": 1800.0}]}
        headers = {"Origin": ORIGIN, "User-Agent": DESKTOP_UA, "Content-Type": "text/plain"}

        async def accepted(body: dict[str, Any] = beacon) -> bool:
            # A new site key is known to ingest after its next cache reload (<= 5 s).
            response = await api.post(f"/rum/v1/{key}", json=body, headers=headers)
            assert response.status_code in {202, 404}, response.text
            return response.status_code == 202

        await _wait_for("the new site key to be accepted", accepted)
    return ids


async def _wait_for(what: str, condition: Callable[[], Any], *, seconds: float = 30) -> None:
    """Until ``condition()`` (a value or an awaitable) is true; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _checks(ids: dict[str, int]) -> list[Check]:
    service, rule, site, task, channel = (
        ids[k] for k in ("service", "rule", "site", "task", "channel")
    )
    rule_texts = [RULE, SVG, *RULE_ANNOTATIONS.values(), f'service="{SHOP}"']
    label_values = [f'team="{IMG}"', f'runbook="{JS_URL}"', f'note="{TEXTAREA}"']
    return [
        Check("overview", "/", [RULE, SHOP, SITE, TASK]),
        Check("services", "/services", [SHOP, CART, SEARCH]),
        Check("service", f"/services/{service}", [SHOP, *label_values, TASK], title=SHOP),
        Check(
            "service-edit",
            f"/services/{service}/edit",
            [SHOP],
            values=[SHOP, *(f"{k}={v}" for k, v in SHOP_LABELS.items())],
        ),
        Check("alerts", "/alerts", [RULE, f'service="{SHOP}"']),
        Check("rule", f"/alerts/rules/{rule}", rule_texts, title=RULE),
        Check(
            "rule-edit",
            f"/alerts/rules/{rule}/edit",
            [RULE, SHOP],  # the preview (HTMX, on load) lists the series with the service name
            values=[RULE, *RULE_ANNOTATIONS.values(), SVG],
            ready=lambda page: page.locator(".rule-preview-series").wait_for(),
        ),
        Check("silences", "/alerts/silences", [SILENCE_COMMENT, SVG]),
        Check("tasks", "/tasks", [TASK, SHOP]),
        Check("task", f"/tasks/{task}", [SHOP, *LOG_LINES]),
        Check("vitals", f"/vitals?site={site}&range=1", PAGES, values=[SITE]),
        Check("sites", "/vitals/sites", [SITE]),
        Check("site", f"/vitals/sites/{site}", [SITE], values=[SITE]),
        Check("notifications", "/admin/notifications", [RULE, DEAD_CHANNEL]),
        Check("channels", "/admin/channels", [LIVE_CHANNEL, DEAD_CHANNEL]),
        Check("channel", f"/admin/channels/{channel}", [DEAD_CHANNEL], title=DEAD_CHANNEL),
    ]


async def _assert_inert(page: Page, check: Check, dialogs: list[str]) -> dict[str, Any]:
    state: dict[str, Any] = await page.evaluate(PAGE_STATE_JS)
    where = f"{check.name} ({check.path})"
    assert dialogs == [], f"{where}: a dialog opened: {dialogs}"
    assert state["xss"] == "undefined", f"{where}: a payload ran"
    assert state["injected"] == [], f"{where}: markup from a payload: {state['injected']}"
    text = " ".join(state["text"].split())
    missing = [t for t in check.texts if " ".join(t.split()) not in text]
    assert missing == [], f"{where}: not shown as text: {missing}"
    values = "\n".join(state["values"])
    missing = [v for v in check.values if v not in values]
    assert missing == [], f"{where}: not in the form: {missing}"
    if check.title is not None:
        assert check.title in state["title"], f"{where}: title {state['title']!r}"
    return state


async def test_payloads_are_shown_as_text_and_never_run(tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        webhook_receiver() as live,
        webhook_receiver(status=500) as dead,
        vigil_server(tmp_path, env=ENV) as server,
    ):
        async with signed_in(server.url, email=ADMIN_EMAIL, password=PASSWORD) as admin:
            token = await issue_api_token(admin)
            async with httpx.AsyncClient(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
            ) as api:
                ids = await _seed(api, live_url=live.url, dead_url=dead.url)

            async def vitals_flushed() -> bool:
                page = await admin.get(f"/vitals?site={ids['site']}&range=1")
                return all(p in html.unescape(page.text) for p in PAGES)

            await _wait_for("the rule to notify the live webhook", lambda: live.delivered)
            await _wait_for("a failed delivery to the dead webhook", lambda: dead.requests)
            await _wait_for("the beacons to be stored", vitals_flushed)

        # The annotation is rendered with the series' labels as plain text: the service
        # name's `{{ 7*7 }}` is not evaluated a second time, its markup is not escaped in JSON.
        series = live.delivered[0].json()["series"][0]
        assert series["labels"]["service"] == SHOP
        assert series["labels"]["team"] == SVG
        assert series["annotations"] == RULE_ANNOTATIONS | {"summary": f"{SHOP} failed {IMG_ALERT}"}

        async with chromium_page() as page:
            await page.add_init_script(SSE_COUNTER_JS)
            problems = console_problems(page)
            dialogs: list[str] = []

            async def on_dialog(dialog: Dialog) -> None:
                dialogs.append(f"{dialog.type}: {dialog.message}")
                await dialog.dismiss()

            page.on("dialog", on_dialog)
            await log_in(page, server.url, email=ADMIN_EMAIL, password=PASSWORD, then="/tasks")
            href = await page.get_by_role("link", name=TASK).get_attribute("href")
            assert href is not None
            assert re.fullmatch(r"/tasks/\d+", href), href
            ids["task"] = int(href.rsplit("/", 1)[1])

            for check in _checks(ids):
                response = await page.goto(server.url + check.path, wait_until="networkidle")
                assert response is not None
                assert response.status == 200, check.path
                if check.ready is not None:
                    await check.ready(page)
                if check.name == "task":
                    for summary in await page.locator("details summary").all():
                        await summary.click()
                await _assert_inert(page, check, dialogs)
                await page.screenshot(
                    path=str(SCREENSHOTS / f"xss-{check.name}.png"), full_page=True
                )

            # The overview's live fragments: swapped in over SSE, then checked again; the
            # stream's raw HTML carries the payloads as entities.
            overview = _checks(ids)[0]
            await page.goto(server.url + "/", wait_until="networkidle")
            await page.wait_for_function("window.__sseMessages >= 3")
            await _assert_inert(page, overview, dialogs)
            fragments = await page.evaluate(RAW_SSE_JS, ["alerts", "tasks"])
            assert set(fragments) == {"alerts", "tasks"}
            assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in fragments["alerts"]
            assert RULE in html.unescape(fragments["alerts"])
            assert SHOP in html.unescape(fragments["tasks"])
            for name, data in fragments.items():
                assert "<script>" not in data, name
                assert "<img" not in data, name
            await page.wait_for_timeout(300)
            await _assert_inert(page, overview, dialogs)

    assert problems == [], "\n".join(problems)
