"""Debian's Prometheus (and Alertmanager) run with the shipped files against a live Vigil;
the Grafana dashboards' queries are run on it too."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy.compose import ALERTMANAGER_FILE, PROMETHEUS_DIR, prometheus_dir
from tests.deploy.conftest import TEST_SERVICE, LiveVigil
from tests.deploy.queries import dashboard_queries
from tests.support.server import free_port, stop_process

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
DEADLINE_SECONDS = 45.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(PROMETHEUS).exists() and Path(ALERTMANAGER).exists()),
        reason="needs Debian's prometheus and prometheus-alertmanager (make system-deps)",
    ),
]


@contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop_process(proc)


def get_json(url: str, **params: str) -> Any:
    """GET a Prometheus API path; a 503 while it starts raises (and is retried by wait_for)."""
    response = httpx.get(url, params=params, timeout=5)
    response.raise_for_status()
    return response.json()


def wait_for(check: Callable[[], Any], what: str, deadline: float, logs: list[Path]) -> Any:
    """Poll ``check`` until it returns something truthy or the deadline passes."""
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{tails}")


def test_prometheus_scrapes_vigil_discovers_services_and_evaluates_rules(
    live_vigil: LiveVigil, tmp_path: Path
) -> None:
    prom_port, am_port = free_port(), free_port()
    ports = {
        "vigil:8000": live_vigil.port,
        "alertmanager:9093": am_port,
        "localhost:9090": prom_port,
    }
    config = prometheus_dir(tmp_path / "prometheus", ports, live_vigil.env)
    prom_log, am_log = tmp_path / "prometheus.log", tmp_path / "alertmanager.log"
    api = f"http://127.0.0.1:{prom_port}/api/v1"
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS

    with (
        process(
            [
                ALERTMANAGER,
                f"--config.file={ALERTMANAGER_FILE}",
                f"--storage.path={tmp_path / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            am_log,
        ),
        process(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            prom_log,
        ),
    ):
        logs = [prom_log, am_log, live_vigil.server.log_path]

        def query(expr: str) -> list[dict[str, Any]]:
            body = get_json(f"{api}/query", query=expr)
            result: list[dict[str, Any]] = body["data"]["result"]
            return result

        # Vigil's /metrics, read with the bearer token file.
        vigil_up = wait_for(
            lambda: [s for s in query('up{job="vigil"}') if s["value"][1] == "1"],
            'up{job="vigil"} == 1',
            deadline,
            logs,
        )
        assert vigil_up[0]["metric"]["instance"] == f"127.0.0.1:{live_vigil.port}"
        assert query('vigil_build_info{job="vigil"}')

        # The registered service, discovered through /sd/prometheus with the API token.
        def discovered() -> list[dict[str, Any]]:
            targets = get_json(f"{api}/targets")["data"]["activeTargets"]
            return [
                t
                for t in targets
                if t["labels"].get("vigil_service") == TEST_SERVICE and t["health"] == "up"
            ]

        (target,) = wait_for(discovered, f"target {TEST_SERVICE} up", deadline, logs)
        assert target["labels"]["job"] == "vigil-services"
        assert target["labels"]["team"] == "ops"
        assert target["scrapeUrl"] == f"http://127.0.0.1:{live_vigil.port}/metrics"

        # Every shipped rule evaluated without error.
        expected = {
            rule["alert"]
            for path in (PROMETHEUS_DIR / "rules").glob("*.yml")
            for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]
        }

        def rules_ok() -> dict[str, str]:
            groups = get_json(f"{api}/rules")["data"]["groups"]
            health = {r["name"]: r["health"] for g in groups for r in g["rules"]}
            return health if set(health) == expected and set(health.values()) == {"ok"} else {}

        wait_for(rules_ok, "every rule evaluated with health ok", deadline, logs)

        # Alerts go to the Alertmanager from alertmanager.yml.
        def alertmanager_active() -> list[dict[str, str]]:
            data = get_json(f"{api}/alertmanagers")["data"]
            return [a for a in data["activeAlertmanagers"] if f"127.0.0.1:{am_port}" in a["url"]]

        wait_for(alertmanager_active, "the Alertmanager to be active", deadline, logs)

        # Every dashboard query is valid PromQL for this Prometheus (Grafana's variables
        # filled in as "All" would).
        for board, exprs in dashboard_queries().items():
            for expr in exprs:
                if expr.startswith("label_values("):
                    continue
                promql = expr.replace("$__rate_interval", "1m")
                promql = promql.replace("$instance", ".*").replace("$site", ".*")
                response = httpx.get(f"{api}/query", params={"query": promql}, timeout=5)
                assert response.status_code == 200, f"{board}: {expr}: {response.text}"
                assert response.json()["status"] == "success", f"{board}: {expr}"
        assert not query('ALERTS{alertstate="firing"}'), "a healthy Vigil fires nothing"
    assert time.monotonic() - started < DEADLINE_SECONDS
