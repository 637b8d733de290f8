"""Why a series' notifications are held back: silence, maintenance, inhibition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.alerts.suppression import build_suppression

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Silence:
    matchers: list[dict[str, str]]
    starts_at: datetime = NOW - timedelta(hours=1)
    ends_at: datetime = NOW + timedelta(hours=1)


@dataclass
class Window:
    service_id: int | None
    kind: str = "once"
    starts_at: datetime | None = NOW - timedelta(minutes=5)
    ends_at: datetime | None = NOW + timedelta(minutes=5)
    weekday: int | None = None
    start_time: None = None
    duration_minutes: int | None = None
    timezone: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def build(**kwargs: object):  # type: ignore[no-untyped-def]
    defaults: dict[str, object] = {
        "silences": [],
        "windows": [],
        "service_names": {1: "api", 2: "db"},
        "down_services": [],
        "now": NOW,
    }
    return build_suppression(**(defaults | kwargs))  # type: ignore[arg-type]


def test_nothing_is_suppressed_by_default() -> None:
    suppression = build()
    assert suppression.reason("service_down", {"service": "api"}) is None
    assert not suppression.maintenance_active


def test_a_down_service_inhibits_its_latency_and_task_alerts_only() -> None:
    suppression = build(down_services=["api"])
    assert suppression.reason("service_latency_p95", {"service": "api"}) == "inhibited"
    assert suppression.reason("task_failed", {"service": "api", "task": "x"}) == "inhibited"
    assert suppression.reason("task_overdue", {"service": "api", "task": "x"}) == "inhibited"
    assert suppression.reason("service_down", {"service": "api"}) is None
    assert suppression.reason("service_latency_p95", {"service": "db"}) is None
    assert suppression.reason("scraped_metric", {"service": "api"}) is None


def test_service_window_covers_its_service_and_global_window_covers_all() -> None:
    per_service = build(windows=[Window(service_id=2)])
    assert per_service.reason("service_down", {"service": "db"}) == "maintenance"
    assert per_service.reason("service_down", {"service": "api"}) is None
    assert per_service.maintenance_active
    everything = build(windows=[Window(service_id=None)])
    assert everything.reason("promql", {"job": "x"}) == "maintenance"


def test_only_active_silences_with_valid_matchers_count() -> None:
    active = Silence([{"name": "alertname", "op": "=~", "value": "Service.*"}])
    expired = Silence(
        [{"name": "service", "op": "=", "value": "api"}], ends_at=NOW - timedelta(seconds=1)
    )
    broken = Silence([{"name": "service", "op": "=~", "value": "("}])
    suppression = build(silences=[active, expired, broken])
    assert suppression.reason("x", {"alertname": "Service down", "service": "api"}) == "silenced"
    assert suppression.reason("x", {"alertname": "Task failed", "service": "api"}) is None
