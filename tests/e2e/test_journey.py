"""The newcomer journey, end to end in a real Chromium, from an empty data directory.

Vigil is started with the README's run command, ``make run`` (``uv sync``, then
``vigil serve``: migrations, the bootstrapped admin, the Demo site, the scheduler). Then, as
a new user would, through the UI: log in; create a site and copy its tag into a demo shop
page served on 127.0.0.1 (a port of its own); open the page, click, leave it; see the Web
Vitals page show the visit; add a webhook channel; register a demo service (health URL and
``/metrics``) and watch it go up, then down when it is stopped; the default "Service down"
rule fires and the webhook receiver gets exactly one notification; report task runs with
the real ``curl`` (one fails: the default "Task failed" rule fires too, but its service is
down, so it is inhibited and notifies no one); silence the demo service's alerts; start the
service again: "Service down" resolves (the receiver gets its resolved message, since it
got the firing one), the silence keeps the now uninhibited "Task failed" quiet, and a good
run resolves that too. A screenshot of each step goes to
``artifacts/screenshots/journey-*.png``.

What the run overrides, all through ``VIGIL_*`` environment variables (no settings file):

- ``VIGIL_SERVER__PORT`` / ``VIGIL_SERVER__PUBLIC_URL``: a free port instead of 8000 (which
  may be taken, or be a developer's own ``make run``), and the URL the tag and ping URLs
  carry;
- ``VIGIL_DATABASE__URL``: ``<tmp>/data/vigil.db``, an empty data directory, instead of
  ``./data`` in the checkout (``make run`` still creates the empty, gitignored ``./data``);
- ``VIGIL_ADMIN_EMAIL`` / ``VIGIL_ADMIN_PASSWORD``: the admin to log in with (otherwise a
  random password is printed);
- ``VIGIL_TELEMETRY__TRACING__ENABLED=false``: no OTLP collector runs here;
- short intervals, so that the journey takes about a minute: services job 1 s (the
  service's own check interval is the minimum, 10 s, set in the form), rule evaluation 1 s,
  notification dispatch 1 s, RUM flush 0.5 s.

Going down takes three failed checks in a row (the default threshold) 10 s apart, so that
step alone waits 20-30 s.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.journey_support import (
    INTERACTION_MEASURED,
    LAYOUT_SHIFTED,
    DemoService,
    ShopSite,
    curl,
    eventually,
    make_run,
    notifications,
    reload_until,
    shop_site,
    shot,
)
from tests.integration.notify.receivers import WebhookReceiver, webhook_receiver
from tests.support.browser import (
    BROWSER_MARKS,
    SCREENSHOTS,
    chromium_page,
    console_problems,
    log_in,
)
from tests.support.server import free_port

ADMIN_EMAIL = "newcomer@example.com"
ADMIN_PASSWORD = "journey password 123"
WEBHOOK_SECRET = "journey-webhook-secret-5c1e"
SERVICE = "Demo shop"
TASK = "nightly-backup"
METRICS = ("LCP", "INP", "CLS", "FCP", "TTFB")
DOWN_WITHIN = 45.0
"""Three failed checks 10 s apart, the first up to 10 s after the stop, plus slack."""

pytestmark = [
    *BROWSER_MARKS,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl"),
]


def _environment(port: int, data_dir: Path) -> dict[str, str]:
    return {
        "VIGIL_SERVER__PORT": str(port),
        "VIGIL_SERVER__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "VIGIL_DATABASE__URL": f"sqlite+aiosqlite:///{data_dir / 'vigil.db'}",
        "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
        "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VIGIL_TELEMETRY__TRACING__ENABLED": "false",
        "VIGIL_SERVICES__JOB_INTERVAL_SECONDS": "1",
        "VIGIL_ALERTS__EVAL_INTERVAL_SECONDS": "1",
        "VIGIL_NOTIFY__DISPATCH_INTERVAL_SECONDS": "1",
        "VIGIL_RUM__FLUSH_INTERVAL_SECONDS": "0.5",
    }


def _series_row(page: Page, rule: str) -> Locator:
    """The row of the alerts page's "Firing and pending" table for ``rule``."""
    return page.locator(".alert-series-table tbody tr").filter(
        has=page.get_by_role("link", name=rule, exact=True)
    )


async def _outbox(page: Page, base: str) -> dict[str, int]:
    """The outbox counts of Admin → Notifications."""
    await page.goto(f"{base}/admin/notifications")
    counts = {}
    for name in ("Waiting to be sent", "Being sent", "Delivered", "Given up (dead)"):
        text = await page.locator("dl.facts div", has_text=name).locator("dd").inner_text()
        counts[name] = int(text)
    return counts


async def _outbox_settled(page: Page, base: str, *, delivered: int) -> dict[str, int]:
    """The outbox counts once nothing is waiting or being sent and at least ``delivered``
    rows went out (the caller asserts the exact figures)."""

    async def settled() -> dict[str, int] | None:
        counts = await _outbox(page, base)
        idle = counts["Waiting to be sent"] == counts["Being sent"] == 0
        return counts if idle and counts["Delivered"] >= delivered else None

    return await eventually(settled, within=15, what=f"{delivered} delivered, none waiting")


async def test_a_newcomer_goes_from_make_run_to_a_resolved_alert(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    assert list(data_dir.iterdir()) == []
    (SCREENSHOTS / "journey-failed.png").unlink(missing_ok=True)
    port = free_port()
    demo = DemoService()
    with (
        webhook_receiver() as receiver,
        shop_site() as shop,
        make_run(_environment(port, data_dir), log_path=tmp_path / "make-run.log") as vigil,
    ):
        base = vigil.url
        try:
            async with chromium_page() as page:
                problems = console_problems(page)
                try:
                    await _journey(page, base, demo=demo, shop=shop, receiver=receiver)
                except BaseException:
                    await shot(page, "failed")  # where the journey stopped
                    raise
                assert problems == [], "\n".join(problems)
        except BaseException:
            print(f"--- make run output (last 8000 characters) ---\n{vigil.output()[-8000:]}")
            raise
        finally:
            await demo.stop()
    assert (data_dir / "vigil.db").exists()
    output = vigil.output()
    assert "uv sync --frozen" in output  # what `make run` does
    assert "uv run --frozen vigil serve" in output
    assert "Application shutdown complete." in output
    assert ADMIN_PASSWORD not in output


async def _journey(
    page: Page, base: str, *, demo: DemoService, shop: ShopSite, receiver: WebhookReceiver
) -> None:
    # 1. Log in with the bootstrapped admin.
    await log_in(page, base, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    await expect(page.locator(".usermenu-email")).to_have_text(ADMIN_EMAIL)
    await shot(page, "01-logged-in")

    # 2. Web Vitals → Manage sites: a site for the shop's origin; copy its tag.
    await _menu(page, "Web Vitals")
    await page.get_by_role("link", name="Manage sites").click()
    await page.wait_for_url(f"{base}/vitals/sites")
    await page.get_by_label("Name").fill("Journey shop")
    await page.get_by_label("Allowed origins").fill(shop.origin)
    await page.get_by_role("button", name="Create site").click()
    await page.wait_for_url(re.compile(r".*/vitals/sites/\d+\?created=1$"))
    await expect(page.get_by_text("Site created.")).to_be_visible()
    tag = (await page.locator(".rum-tag-code").inner_text()).strip()
    assert tag.startswith(f'<script src="{base}/static/vigil-rum.js" data-site="'), tag
    assert tag.endswith("></script>"), tag
    shop.tag = tag
    await shot(page, "02-site-created")
    site_page = page.url.split("?")[0]

    # 3. The demo page in another tab: look, click, leave.
    visitor = await page.context.new_page()
    visitor_problems = console_problems(visitor)
    async with visitor.expect_response(re.compile(r".*/static/vigil-rum\.js$")) as script:
        await visitor.goto(f"{shop.origin}/products/42?ref=newsletter")
    assert (await script.value).status == 200
    await asyncio.wait_for(visitor.evaluate(LAYOUT_SHIFTED), 10)  # the late banner: CLS
    await visitor.get_by_role("button", name="Buy").click()
    await expect(visitor.get_by_text("Added to the basket.")).to_be_visible()
    await asyncio.wait_for(visitor.evaluate(INTERACTION_MEASURED), 10)  # the slow click: INP
    await shot(visitor, "03-demo-page")
    await visitor.goto(f"{shop.origin}/bye")  # hidden: pagehide, then visibilitychange
    await visitor.close()
    assert visitor_problems == [], visitor_problems

    # 4. The site's Web Vitals page shows the visit: one sample of each metric, one page.
    await page.goto(site_page)
    await page.get_by_role("link", name="See this site's Web Vitals").click()
    await page.wait_for_url(re.compile(r".*/vitals\?site=\d+$"))
    every_metric = page.locator(".vitals-card").filter(has_text="1 sample ·")
    await reload_until(page, every_metric, count=5, within=15, what="all five metrics")
    p75 = {m: _value(await page.get_by_test_id(f"p75-{m}").inner_text()) for m in METRICS}
    assert 0 < p75["LCP"] < 4000, p75
    assert 0 < p75["FCP"] < 3000, p75
    assert 0 <= p75["TTFB"] < 800, p75
    assert 0.05 < p75["CLS"] < 0.6, p75  # the late banner
    assert 250 < p75["INP"] < 1000, p75  # the 300 ms click handler
    await expect(page.get_by_role("table").get_by_text("/products/:id")).to_be_visible()
    await shot(page, "04-vitals")

    # 5. A webhook channel, before anything breaks.
    await page.goto(f"{base}/admin")
    await page.get_by_role("link", name="Notification channels").click()
    await page.get_by_role("link", name="Add a channel").click()
    await page.get_by_label("Name").fill("on-call hook")
    await page.get_by_label("URL", exact=True).fill(receiver.url)
    await page.get_by_label("Signing secret").fill(WEBHOOK_SECRET)
    await page.get_by_role("button", name="Add channel").click()
    await page.wait_for_url(re.compile(r".*/admin/channels/\d+\?created=1$"))
    await expect(page.get_by_text("Channel created.")).to_be_visible()
    await shot(page, "05-channel")

    # 6. Services → Add service: the demo service goes up and its metrics are scraped.
    await demo.start()
    await _menu(page, "Services")
    await page.get_by_role("link", name="Add service").click()
    await page.get_by_label("Name").fill(SERVICE)
    await page.get_by_label("Base URL").fill(demo.url)
    await page.get_by_label("Metrics path").fill("/metrics")
    await page.get_by_label("Interval (seconds)").fill("10")
    await page.get_by_label("Timeout (seconds)").fill("2")
    await page.get_by_role("button", name="Add service").click()
    await page.wait_for_url(re.compile(r".*/services/\d+\?created=1$"))
    service_page = page.url.split("?")[0]
    ping_text = await page.get_by_text("Ping URL for this service's tasks").inner_text()
    ping_url = re.search(r"(http://\S+/ping/\S+)/<task>", ping_text)
    assert ping_url, ping_text
    heading = page.get_by_role("heading", level=1)
    await reload_until(page, heading.get_by_text("✓ Up"), within=15, what="the service up")
    await reload_until(
        page,
        page.locator("#svc-metrics").get_by_text("shop_queue_depth"),
        within=15,
        what="its scraped metrics",
    )
    await shot(page, "06-service-up")

    # 7. Stop it: three failed checks later it is down.
    await demo.stop()
    await page.goto(f"{base}/services")
    row = page.get_by_role("row").filter(has_text=SERVICE)
    await reload_until(page, row.get_by_text("✕ Down"), within=DOWN_WITHIN, what="service down")
    await shot(page, "07-service-down")

    # 8. The default "Service down" rule fires; the webhook gets exactly one notification.
    await _menu(page, "Alerts")
    down = _series_row(page, "Service down")
    await reload_until(page, down.filter(has_text="Sent"), within=10, what="Service down sent")
    await expect(down).to_contain_text(f'service="{SERVICE}"')
    await eventually(lambda: _delivered(receiver, 1), within=10, what="the webhook delivery")
    assert notifications(receiver) == [("firing", "Service down", (SERVICE,))]
    assert receiver.delivered[0].signature_ok(WEBHOOK_SECRET)
    await shot(page, "08-alert-firing")

    # 9. Task runs reported with curl: one good, then one failing. Its service is down, so
    #    "Task failed" fires inhibited and notifies no one.
    url = ping_url.group(1)
    await curl(f"{url}/{TASK}/start?rid=run-1")
    await curl("--data-binary", "dumped 1200 rows", f"{url}/{TASK}/0?rid=run-1")
    await curl(f"{url}/{TASK}/start?rid=run-2")
    await curl("--data-binary", "pg_dump: connection refused", f"{url}/{TASK}/1?rid=run-2")
    await _menu(page, "Tasks")
    task_row = page.locator("tbody tr", has=page.get_by_role("link", name=TASK))
    await expect(task_row.locator(".state-badge")).to_have_text("✕ Failed")
    await expect(task_row).to_contain_text(SERVICE)
    await shot(page, "09-task-failed")
    await _menu(page, "Alerts")
    failed = _series_row(page, "Task failed")
    await reload_until(page, failed, within=10, what="Task failed firing")
    await expect(failed).to_contain_text("Inhibited: its service is down")
    await shot(page, "10-task-inhibited")
    counts = await _outbox_settled(page, base, delivered=1)
    assert (counts["Delivered"], counts["Given up (dead)"]) == (1, 0), counts
    assert len(receiver.requests) == 1, notifications(receiver)

    # 10. Silence the demo service's alerts while it is being fixed.
    await page.goto(f"{base}/alerts")
    await page.get_by_role("link", name="Silences", exact=True).click()
    await page.get_by_label("Matchers").fill(f'service="{SERVICE}"')
    await page.get_by_label("Comment").fill("Restarting the demo shop, JOURNEY-1")
    await page.get_by_role("button", name="Create silence").click()
    await page.wait_for_url(f"{base}/alerts/silences?done=silenced")
    silence = page.locator(".alert-silences-table tbody tr").first
    await expect(silence).to_contain_text("Active")
    await expect(silence).to_contain_text(ADMIN_EMAIL)
    await shot(page, "11-silence")
    await page.goto(f"{base}/alerts")
    await expect(_series_row(page, "Service down")).to_contain_text("Silenced")
    await shot(page, "12-silenced")

    # 11. Resolve: the service runs again, so "Service down" resolves and says so once; the
    #     silence keeps the no longer inhibited "Task failed" quiet; a good run resolves it.
    await demo.start()
    await page.goto(service_page)
    await reload_until(page, heading.get_by_text("✓ Up"), within=20, what="the service up again")
    await shot(page, "13-service-up-again")
    await page.goto(f"{base}/alerts")
    await reload_until(
        page, _series_row(page, "Service down"), count=0, within=10, what="Service down resolved"
    )
    await expect(_series_row(page, "Task failed")).to_contain_text("Silenced")
    await eventually(lambda: _delivered(receiver, 2), within=10, what="the resolved message")
    await curl(f"{url}/{TASK}/start?rid=run-3")
    await curl("--data-binary", "dumped 1250 rows", f"{url}/{TASK}/0?rid=run-3")
    await reload_until(
        page, page.get_by_text("Nothing is firing or pending"), within=10, what="all resolved"
    )
    await shot(page, "14-resolved")
    counts = await _outbox_settled(page, base, delivered=2)
    assert (counts["Delivered"], counts["Given up (dead)"]) == (2, 0), counts
    await shot(page, "15-notifications")
    assert notifications(receiver) == [
        ("firing", "Service down", (SERVICE,)),
        ("resolved", "Service down", (SERVICE,)),
    ]
    assert len(receiver.requests) == 2
    assert all(r.signature_ok(WEBHOOK_SECRET) for r in receiver.requests)


def _value(text: str) -> float:
    """A p75 cell as a number: milliseconds for times (``1.2 s``, ``50 ms``), CLS as is."""
    number, _, unit = text.replace("\xa0", " ").partition(" ")
    return float(number) * (1000 if unit == "s" else 1)


async def _menu(page: Page, item: str) -> None:
    """Follow ``item`` of the main navigation."""
    await page.get_by_role("navigation", name="Main").get_by_role("link", name=item).click()
    await page.wait_for_load_state()


async def _delivered(receiver: WebhookReceiver, count: int) -> bool:
    return len(receiver.delivered) >= count
