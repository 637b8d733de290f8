"""The "HTTP & SSE" page's registered-services section, read from the real Debian
``prometheus`` scraping a running Vigil labelled as a service (``vigil_service``, as Vigil's
HTTP SD labels targets)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from tests.integration.auth.helpers import csrf_from
from tests.support.prometheus import NEEDS_PROMETHEUS, running_prometheus
from tests.support.server import free_port, vigil_server

EMAIL = "ops@example.com"
PASSWORD = "prometheus password 123"

pytestmark = NEEDS_PROMETHEUS


def _wait_for_rate(url: str, client: httpx.Client, deadline: float) -> None:
    """Keep /healthz busy until Prometheus sees its rate (counters must grow between scrapes)."""
    query = (
        'sum(rate(vigil_http_requests_total{vigil_service="checkout-api",route="/healthz"}[1m]))'
        " > 0"
    )
    while time.monotonic() < deadline:
        client.get("/healthz")
        try:
            answer = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=2)
            if answer.status_code == 200 and answer.json()["data"]["result"]:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("Prometheus has no request rate of the service yet")


def test_http_page_shows_each_services_routes_from_prometheus(tmp_path: Path) -> None:
    prometheus_port = free_port()
    prometheus_url = f"http://127.0.0.1:{prometheus_port}"
    env = {
        "VIGIL_ADMIN_EMAIL": EMAIL,
        "VIGIL_ADMIN_PASSWORD": PASSWORD,
        "VIGIL_SCHEDULER__ENABLED": "false",
        "VIGIL_ALERTS__PROMETHEUS_URL": prometheus_url,
    }
    with vigil_server(tmp_path, env=env) as vigil:
        config = (
            "global:\n  scrape_interval: 1s\n"
            "scrape_configs:\n  - job_name: vigil-services\n    static_configs:\n"
            f"      - targets: ['{vigil.url.removeprefix('http://')}']\n"
            "        labels: {vigil_service: checkout-api}\n"
        )
        with (
            running_prometheus(tmp_path, config, port=prometheus_port),
            httpx.Client(base_url=vigil.url, timeout=10) as client,
        ):
            _wait_for_rate(prometheus_url, client, time.monotonic() + 45)
            token = csrf_from(client.get("/login"))
            client.post(
                "/login",
                data={"email": EMAIL, "password": PASSWORD, "next": "", "_csrf_token": token},
            )
            page = client.get("/http?range=1m")

    assert page.status_code == 200
    text = page.text
    section = text[text.index("Registered services") :]
    assert "Could not read" not in section
    row = re.search(
        r"<th scope=\"row\">checkout-api</th><td><code>/healthz</code></td>.*?</tr>", section, re.S
    )
    assert row, section[:2000]
    assert "req/s" in row.group(0)
    assert re.search(r"\d+(\.\d+)? ms", row.group(0))  # latency percentiles from the buckets
