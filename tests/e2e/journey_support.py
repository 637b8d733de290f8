"""What the newcomer journey (``test_journey.py``) needs besides a browser: Vigil started with
the README's ``make run``, a demo shop page on its own port, a demo service that can be
stopped and started again on the same port, the real ``curl``, and polling with deadlines."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from playwright.async_api import Locator, Page

from tests.integration.notify.receivers import WebhookReceiver
from tests.integration.services.target_service import TargetService
from tests.support.browser import SCREENSHOTS
from tests.support.server import RunningServer, _wait_until_healthy, free_port

REPO = Path(__file__).resolve().parents[2]
_OUTER_MAKE_VARIABLES = frozenset({"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"})
T = TypeVar("T")


# ----------------------------------------------------------------------------- Vigil


@contextmanager
def make_run(
    env: dict[str, str], *, log_path: Path, timeout: float = 120
) -> Iterator[RunningServer]:
    """``make run`` in the checkout, as the README says, with ``env`` on top of this process's
    environment. The caller's ``VIGIL_*`` and the variables an outer make passes down
    (``make test`` runs this) are removed first, so it runs as if typed in a shell.
    ``env`` must set ``VIGIL_SERVER__PORT``; the URL served is derived from it.

    make, uv and ``vigil serve`` run in a process group of their own; on exit the whole
    group gets SIGTERM (SIGKILL if it is still there 20 s later).
    """
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VIGIL_") and k not in _OUTER_MAKE_VARIABLES
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=REPO,
            env=clean | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    server = RunningServer(f"http://127.0.0.1:{env['VIGIL_SERVER__PORT']}", process, log_path)
    try:
        _wait_until_healthy(server, timeout)
        yield server
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[str], timeout: float = 20) -> None:
    """SIGTERM to the process group of ``process`` (its own, from ``start_new_session``)."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()
        if not _group_alive(group):
            process.wait()
            return
        time.sleep(0.1)
    _signal_group(group, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(group, sig)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


# ------------------------------------------------------------------ the demo shop page

SHOP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo shop</title>
{tag}
</head><body>
<h1>Products</h1>
<p id="status">Welcome to the demo shop. This paragraph is the largest text on the page.</p>
<button id="buy" type="button">Buy</button>
<script>
  // A late banner pushes the content down (CLS); the button's handler blocks the main
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


LAYOUT_SHIFTED = """() => new Promise((resolve) => {
  new PerformanceObserver((list, observer) => {
    observer.disconnect();
    resolve(true);
  }).observe({ type: "layout-shift", buffered: true });
})"""
"""JavaScript for ``page.evaluate``: resolves once the page has had a layout shift."""
INTERACTION_MEASURED = """() => new Promise((resolve) => {
  new PerformanceObserver((list, observer) => {
    if (!list.getEntries().some((entry) => entry.duration >= 250)) return;
    observer.disconnect();
    // web-vitals got the same entries and handles them in an idle callback (at most 1 s
    // later); this one is queued after it.
    requestIdleCallback(() => resolve(true), { timeout: 1500 });
  }).observe({ type: "event", buffered: true, durationThreshold: 16 });
})"""
"""JavaScript for ``page.evaluate``: resolves once the slow click's timing has reached the
page's performance observers and web-vitals has had its idle callback: leaving the page
earlier can lose INP."""


@dataclass
class ShopSite:
    """A website on 127.0.0.1 of its own: ``/products/...`` carries ``tag``, the rest is a
    plain goodbye page. Its origin is known before the tag is (the site needs it)."""

    tag: str = ""
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def shop_site() -> Iterator[ShopSite]:
    shop = ShopSite()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            products = self.path.startswith("/products")
            text = SHOP_PAGE.format(tag=shop.tag) if products else "<p>Thanks, bye.</p>"
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    shop.port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ the demo service


@dataclass
class DemoService:
    """``TargetService`` (a health URL and Prometheus ``/metrics``) served by uvicorn on one
    loopback port, in this event loop; :meth:`stop` takes it off (connection refused) and
    :meth:`start` brings it back on the same port."""

    target: TargetService = field(default_factory=TargetService)
    _server: Any = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self.target.url

    async def start(self) -> None:
        if not self.target.port:
            self.target.port = free_port()
        config = uvicorn.Config(
            self.target, host="127.0.0.1", port=self.target.port, log_config=None, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the demo service stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None


# ------------------------------------------------------------------ curl, polling, shots


async def curl(*args: str) -> str:
    """Run the real ``curl`` with the flags of the README's ping line; fail on an HTTP error."""
    process = await asyncio.create_subprocess_exec(
        *("curl", "-fsS", "-m", "10", "--retry", "5", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, f"curl {' '.join(args)}: exit {process.returncode}: {err!r}"
    return out.decode()


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, within: float, what: str, every: float = 0.25
) -> T:
    """The first truthy result of ``check()``; AssertionError naming ``what`` after ``within``
    seconds without one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not seen within {within:g} s")
        await asyncio.sleep(every)


async def reload_until(
    page: Page, locator: Locator, *, within: float, what: str, count: int | None = None
) -> None:
    """Reload ``page`` until ``locator`` matches something, or exactly ``count`` elements
    when given (0: until it is gone). For server-rendered state that changes later."""

    async def shown() -> bool:
        found = await locator.count()
        if (found > 0) if count is None else (found == count):
            return True
        await page.reload()
        return False

    await eventually(shown, within=within, what=f"{what} (on {page.url})", every=0.5)


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot ``artifacts/screenshots/journey-<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"journey-{name}.png"), full_page=True)


def notifications(receiver: WebhookReceiver) -> list[tuple[str, str, tuple[str, ...]]]:
    """What the webhook got, delivered (2xx) requests in order: (status, rule, services)."""
    summary = []
    for request in receiver.delivered:
        body = request.json()
        services = tuple(s["labels"].get("service", "") for s in body["series"])
        summary.append((body["status"], body["rule_name"], services))
    return summary
