"""The Web Vitals gauges job on both databases: p75 per site today, in Prometheus units."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.rum.aggregates import write_deltas
from app.rum.deltas import VitalsDelta
from app.rum.gauges import WebVitalGauges, web_vital_values
from app.rum.models import COUNTER_COLUMNS
from app.telemetry import VigilMetrics
from tests.integration.rum.test_aggregates import add_site, make_delta

Sessions = async_sessionmaker[AsyncSession]


def _value(metrics: VigilMetrics, name: str, site: str, metric: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"site": site, "metric": metric})


async def test_gauges_show_each_sites_p75_today_across_devices(sessions: Sessions) -> None:
    now = utcnow()
    today = now.date()
    shop = await add_site(sessions, "Shop")
    blog = await add_site(sessions, "Blog")
    await write_deltas(
        sessions,
        [
            # 3 fast mobile views and 2 slow desktop ones: p75 (4th of 5) is a slow one.
            make_delta(shop, [1000.0] * 3, day=today, metric="LCP"),
            make_delta(shop, [5000.0] * 2, day=today, device="desktop", metric="LCP"),
            make_delta(shop, [0.3] * 4, day=today, metric="CLS"),
            # The blog's only samples are from yesterday: no series today.
            make_delta(blog, [9000.0] * 60, day=today - timedelta(days=1), metric="LCP"),
        ],
        now=now,
    )
    metrics = VigilMetrics(CollectorRegistry())
    metrics.set_leader(True)
    gauges = WebVitalGauges(sessions, metrics)

    assert await gauges.refresh(today=today) == 2

    p75 = "vigil_rum_web_vital_p75"
    assert _value(metrics, p75, "shopkkkkkkkkkkkk", "LCP") == pytest.approx(5.0, rel=0.05)
    assert _value(metrics, p75, "shopkkkkkkkkkkkk", "CLS") == pytest.approx(0.3, rel=0.05)
    assert _value(metrics, "vigil_rum_web_vital_samples", "shopkkkkkkkkkkkk", "LCP") == 5
    assert _value(metrics, p75, "shopkkkkkkkkkkkk", "INP") is None
    assert _value(metrics, p75, "blogkkkkkkkkkkkk", "LCP") is None

    # The next UTC day has no samples yet: yesterday's series go away.
    assert await gauges.refresh(today=today + timedelta(days=1)) == 0
    assert _value(metrics, p75, "shopkkkkkkkkkkkk", "LCP") is None
    assert _value(metrics, "vigil_rum_web_vital_samples", "shopkkkkkkkkkkkk", "CLS") is None


def test_values_convert_milliseconds_to_seconds_and_skip_empty_metrics() -> None:
    empty = [0] * (len(COUNTER_COLUMNS) - 2)
    lcp = make_delta(1, [2000.0], metric="LCP")
    cls = make_delta(1, [0.05], metric="CLS")

    def row(site: str, metric: str, d: VitalsDelta) -> list[object]:
        return [site, metric, d.n, d.good, d.ni, d.poor, d.value_sum, *d.buckets]

    values = web_vital_values(
        [row("s", "LCP", lcp), row("s", "CLS", cls), ["s", "INP", 0, 0, 0, 0, 0.0, *empty]]
    )
    assert set(values) == {("s", "LCP"), ("s", "CLS")}
    assert values["s", "LCP"][0] == pytest.approx(2.0, rel=0.05)
    assert values["s", "LCP"][1] == 1
    assert values["s", "CLS"][0] == pytest.approx(0.05, rel=0.05)
