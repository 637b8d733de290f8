"""PromQL rules against the real Debian ``prometheus`` binary scraping a running Vigil."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.defaults import DEFAULT_RULES
from app.alerts.evaluator import Evaluator, preview
from app.alerts.rules import RuleError, check_references, validate_rule
from app.alerts.signals import SignalContext
from app.config import AlertsSettings
from app.db.base import utcnow
from app.telemetry import VigilMetrics
from tests.conftest import make_settings
from tests.integration.alerts.engine_seed import (
    add_rule,
    add_webhook_channel,
    outbox,
    rule_row,
    series_states,
)
from tests.support.prometheus import NEEDS_PROMETHEUS, running_prometheus
from tests.support.server import vigil_server

Sessions = async_sessionmaker[AsyncSession]
pytestmark = NEEDS_PROMETHEUS


@dataclass
class Prometheus:
    url: str
    vigil_target: str


def _wait_for_vigil_scraped(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            response = httpx.get(
                f"{url}/api/v1/query",
                params={"query": 'count(vigil_http_requests_total{job="vigil"})'},
                timeout=2,
            )
            if response.status_code == 200 and response.json()["data"]["result"]:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError("Prometheus did not scrape Vigil in time")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A real Vigil server and a real Prometheus scraping it every second."""
    tmp = tmp_path_factory.mktemp("promql")
    with vigil_server(tmp, env={"VIGIL_SCHEDULER__ENABLED": "false"}) as vigil:
        target = vigil.url.removeprefix("http://")
        httpx.get(f"{vigil.url}/healthz")  # a request, so the HTTP counters have series
        config = (
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: vigil\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        with running_prometheus(tmp, config) as url:
            _wait_for_vigil_scraped(url, time.monotonic() + 30)
            yield Prometheus(url, target)


async def test_every_result_series_of_a_promql_rule_is_an_alert_series(
    prometheus: Prometheus, db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    up = await add_rule(
        sessions,
        name="Vigil is up",
        signal="promql",
        params={"query": 'up{job="vigil"}'},
        comparison=">=",
        threshold=1,
        annotations={"summary": "{{ $labels.instance }} up={{ $value }}"},
    )
    quiet = await add_rule(
        sessions, name="Nothing", signal="promql", params={"query": 'up{job="nope"}'}
    )
    settings = make_settings(db_url, alerts=AlertsSettings(prometheus_url=prometheus.url))
    metrics = VigilMetrics(CollectorRegistry())

    report = await Evaluator(sessions, settings, metrics=metrics).tick(utcnow())

    assert report.errors == 0
    assert await series_states(sessions, up) == {f"{prometheus.vigil_target},vigil": "firing"}
    assert await series_states(sessions, quiet) == {}
    sent = await outbox(sessions)
    assert len(sent) == 1
    assert sent[0].series[0].labels == {
        "instance": prometheus.vigil_target,
        "job": "vigil",
        "alertname": "Vigil is up",
        "severity": "warning",
    }
    assert sent[0].series[0].annotations == {"summary": f"{prometheus.vigil_target} up=1"}
    assert (await rule_row(sessions, up)).health == "ok"


async def test_a_query_prometheus_rejects_marks_only_that_rule_unhealthy(
    prometheus: Prometheus, db_url: str, sessions: Sessions
) -> None:
    bad = await add_rule(
        sessions, name="Typo", signal="promql", params={"query": "sum by (job) up"}
    )
    good = await add_rule(sessions, name="Up", signal="promql", params={"query": 'up{job="vigil"}'})
    settings = make_settings(db_url, alerts=AlertsSettings(prometheus_url=prometheus.url))
    report = await Evaluator(sessions, settings).tick(utcnow())
    assert report.errors == 1
    broken = await rule_row(sessions, bad)
    assert broken.health == "error"
    assert broken.last_error is not None
    assert "HTTP 400" in broken.last_error
    assert "parse error" in broken.last_error
    assert (await rule_row(sessions, good)).health == "ok"


async def test_default_promql_rules_run_on_vigils_real_metric_names(
    prometheus: Prometheus, db_url: str, sessions: Sessions
) -> None:
    for raw in DEFAULT_RULES:
        if raw["signal"] == "promql":
            await add_rule(sessions, **raw)
    settings = make_settings(db_url, alerts=AlertsSettings(prometheus_url=prometheus.url))
    report = await Evaluator(sessions, settings).tick(utcnow())
    assert (report.rules, report.errors) == (2, 0)
    # the metric names they read are the ones Vigil exports
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{prometheus.url}/api/v1/label/__name__/values")
    exported = set(response.json()["data"])
    names = {
        name
        for raw in DEFAULT_RULES
        if raw["signal"] == "promql"
        for name in re.findall(r"vigil_[a-z_]+", raw["params"]["query"])
    }
    assert "vigil_http_requests_total" in exported
    collected = list(VigilMetrics(CollectorRegistry()).registry.collect())
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    registered = {
        metric.name + suffix for metric in collected for suffix in suffixes.get(metric.type, ("",))
    }
    assert names <= registered


async def test_check_references_asks_prometheus_to_parse_the_query(
    prometheus: Prometheus, sessions: Sessions
) -> None:
    rule = validate_rule(
        {"name": "x", "signal": "promql", "params": {"query": "rate(up)"}, "threshold": 1}
    )
    async with httpx.AsyncClient(timeout=5) as http, sessions() as session:
        with pytest.raises(RuleError) as error:
            await check_references(session, rule, prometheus_url=prometheus.url, http=http)
        assert error.value.field == "params.query"
        assert "Prometheus rejects it" in error.value.message
        fine = validate_rule(
            {"name": "x", "signal": "promql", "params": {"query": "rate(up[1m])"}, "threshold": 1}
        )
        await check_references(session, fine, prometheus_url=prometheus.url, http=http)


async def test_preview_of_a_promql_rule_asks_prometheus(
    prometheus: Prometheus, sessions: Sessions
) -> None:
    rule = validate_rule(
        {
            "name": "Vigil up",
            "signal": "promql",
            "params": {"query": 'up{job="vigil"}'},
            "comparison": "==",
            "threshold": 1,
        }
    )
    async with httpx.AsyncClient(timeout=5) as http:
        ctx = SignalContext(now=utcnow(), prometheus_url=prometheus.url, http=http)
        result = await preview(sessions, rule, ctx)
    assert result.error is None
    assert [(s.labels["instance"], s.value, s.would_fire) for s in result.series] == [
        (prometheus.vigil_target, 1.0, True)
    ]
