"""The services pages' reads (both databases) and their pure view models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.samples import Sample
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.services import check_hours, queries, views
from app.services.models import ServiceCheck
from app.services.queries import Bucket, Uptime
from app.services.registry import ServiceError, ServiceFields, create_service
from app.services.scrapes import Scrape

NBSP = "\u00a0"


async def _service_id(sessions: async_sessionmaker[AsyncSession], name: str) -> int:
    service = await create_service(
        sessions, ServiceFields(name=name, base_url="http://x.internal"), now=utcnow()
    )
    return service.id


async def _insert(sessions: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]) -> None:
    async with sessions.begin() as session:
        await session.execute(insert(ServiceCheck), rows)
        await check_hours.recount(session)


async def test_p95_is_the_nearest_rank_of_the_last_24_hours_per_service(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    hundred = await _service_id(sessions, "hundred")
    single = await _service_id(sessions, "single")
    rows = [
        {"service_id": hundred, "checked_at": now - timedelta(minutes=i), "ok": True,
         "latency_ms": float(101 - i)}
        for i in range(1, 101)
    ]  # fmt: skip
    rows.append(
        {"service_id": hundred, "checked_at": now - timedelta(days=2), "ok": True,
         "latency_ms": 9999.0}
    )  # fmt: skip
    rows.append({"service_id": single, "checked_at": now, "ok": True, "latency_ms": 42.0})
    rows.append({"service_id": single, "checked_at": now, "ok": False, "latency_ms": None})
    await _insert(sessions, rows)

    health = await queries.service_health(sessions, now=now)
    only_single = await queries.service_health(sessions, now=now, service_ids=[single])

    assert (health[hundred].p95_ms, health[hundred].latency_samples) == (95.0, 100)
    assert health[hundred].uptime["24h"] == Uptime(checks=100, ok=100)
    assert health[hundred].uptime["7d"] == Uptime(checks=101, ok=101)
    assert (health[single].p95_ms, health[single].latency_samples) == (42.0, 1)
    assert health[single].uptime["24h"] == Uptime(checks=2, ok=1)
    assert set(only_single) == {single}


async def test_checks_fall_into_equal_slices_of_the_range(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service_id = await _service_id(sessions, "sliced")
    since = datetime(2026, 11, 1, tzinfo=UTC)
    until = since + timedelta(hours=1)
    rows = [
        {"service_id": service_id, "checked_at": since, "ok": True, "latency_ms": 10.0},
        {"service_id": service_id, "checked_at": since + timedelta(minutes=5, seconds=59),
         "ok": False, "latency_ms": 30.0},
        {"service_id": service_id, "checked_at": since + timedelta(minutes=6), "ok": False,
         "latency_ms": None},
        {"service_id": service_id, "checked_at": until - timedelta(seconds=1), "ok": True,
         "latency_ms": 5.0},
        {"service_id": service_id, "checked_at": until, "ok": True, "latency_ms": 1.0},
        {"service_id": service_id, "checked_at": since - timedelta(seconds=1), "ok": True,
         "latency_ms": 1.0},
    ]  # fmt: skip
    await _insert(sessions, rows)

    buckets = await queries.check_buckets(
        sessions, service_id=service_id, since=since, until=until, count=10
    )

    assert len(buckets) == 10
    assert buckets[0] == Bucket(start=since, checks=2, failed=1, avg_ms=20.0, max_ms=30.0)
    assert buckets[1] == Bucket(
        start=since + timedelta(minutes=6), checks=1, failed=1, avg_ms=None, max_ms=None
    )
    assert buckets[9].checks == 1
    assert buckets[9].avg_ms == 5.0
    assert sum(b.checks for b in buckets) == 4


@pytest.mark.parametrize(
    ("uptime", "text"),
    [
        (Uptime(checks=0, ok=0), "\u2013"),
        (Uptime(checks=10, ok=10), f"100{NBSP}%"),
        (Uptime(checks=100_000, ok=99_999), f"99.99{NBSP}%"),
        (Uptime(checks=3, ok=0), f"0.00{NBSP}%"),
        (Uptime(checks=3, ok=2), f"66.66{NBSP}%"),
    ],
)
def test_uptime_is_rounded_down_so_a_failure_never_reads_100(uptime: Uptime, text: str) -> None:
    assert views.format_uptime(uptime) == text


def test_the_chart_breaks_the_line_at_gaps_and_marks_failed_slices() -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    until = since + timedelta(days=1)

    def bucket(i: int, checks: int, failed: int, avg: float | None) -> Bucket:
        return Bucket(since + timedelta(minutes=5 * i), checks, failed, avg, avg)

    buckets = [
        bucket(0, 5, 0, 100.0),
        bucket(1, 5, 0, 200.0),
        bucket(2, 0, 0, None),
        bucket(3, 5, 2, 50.0),
    ]

    chart = views.history_chart(buckets, range_key="24h", since=since, until=until)

    assert len(chart.segments) == 2
    assert len(chart.points) == 3
    [mark] = chart.failures
    assert mark.label == "2026-11-01 00:15:00 UTC: 2 of 5 checks failed"
    assert chart.y_max_label == f"250{NBSP}ms"
    assert "15 checks" in chart.description
    assert "2 failed checks" in chart.description
    top_point = min(chart.points, key=lambda p: p.y)
    assert "average 200" in top_point.label
    assert views.bucket_lines(buckets)[0].start == "2026-11-01 00:15:00 UTC"


def test_the_metrics_filter_matches_name_substrings_and_bounds_rows() -> None:
    now = utcnow()
    samples = (
        *(
            Sample(f"m_{i:03d}_total", {"b": "2", "a": "1"}, float(i), None, None)
            for i in range(500)
        ),
        Sample("up", {}, float("nan"), None, None),
    )
    scrape = Scrape(service_id=1, scraped_at=now, samples=samples, series_dropped=0, error=None)

    everything = views.metrics_view(scrape, query="", now=now)
    narrow = views.metrics_view(scrape, query=" M_01 ", now=now)
    none = views.metrics_view(None, query="x", now=now)

    assert (everything.total, everything.matched, len(everything.lines)) == (501, 501, 200)
    assert (narrow.matched, narrow.query) == (10, "M_01")
    assert narrow.lines[0].labels == 'a="1", b="2"'
    assert views.metrics_view(scrape, query="up", now=now).lines[0].value == "NaN"
    assert not none.scraped


def test_label_lines_are_parsed_and_a_line_without_equals_is_refused() -> None:
    assert views.parse_labels("team = checkout\n\nenv=prod=eu\n") == {
        "team": "checkout",
        "env": "prod=eu",
    }
    with pytest.raises(ServiceError, match="name=value"):
        views.parse_labels("team")
