"""Metric declarations: names, units, labels, build info."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from app.telemetry.metrics import VigilMetrics

EXPECTED = {
    "vigil_http_requests": ("counter", {"route", "method", "status_class"}),
    "vigil_http_request_duration_seconds": ("histogram", {"route", "method", "status_class"}),
    "vigil_http_response_size_bytes": ("histogram", {"route", "method"}),
    "vigil_http_requests_in_flight": ("gauge", set()),
    "vigil_sse_connections_active": ("gauge", {"stream"}),
    "vigil_sse_connection_duration_seconds": ("histogram", {"stream"}),
    "vigil_sse_messages": ("counter", {"stream", "status"}),
    "vigil_sse_disconnects": ("counter", {"stream", "reason"}),
    "vigil_task_runs": ("counter", {"task", "status"}),
    "vigil_task_duration_seconds": ("histogram", {"task"}),
    "vigil_tasks_active": ("gauge", {"task"}),
    "vigil_rum_events": ("counter", {"site", "metric", "outcome"}),
    "vigil_db_query_duration_seconds": ("histogram", {"operation", "table"}),
    "vigil_db_slow_queries": ("counter", {"operation", "table"}),
    "vigil_alert_evaluations": ("counter", {"rule", "result"}),
    "vigil_alert_evaluation_duration_seconds": ("histogram", set()),
    "vigil_alerts": ("gauge", {"rule", "severity", "state"}),
    "vigil_notifications": ("counter", {"channel_kind", "outcome"}),
    "vigil_build_info": ("gauge", {"version", "python", "environment"}),
    "vigil_maintenance_mode": ("gauge", set()),
    "vigil_scheduler_leader": ("gauge", set()),
}


def test_every_metric_is_declared_once_with_bounded_labels() -> None:
    metrics = VigilMetrics(CollectorRegistry())
    declared = {
        family.name: (family.type, metric)
        for metric in vars(metrics).values()
        if hasattr(metric, "_labelnames")
        for family in metric.describe()
    }
    assert set(declared) == set(EXPECTED)
    for name, (kind, labels) in EXPECTED.items():
        family_type, metric = declared[name]
        assert family_type == kind, name
        assert set(metric._labelnames) == labels, name


def test_two_instances_on_fresh_registries_do_not_collide() -> None:
    VigilMetrics(CollectorRegistry())
    VigilMetrics(CollectorRegistry())


def test_build_info_is_exposed_as_one_series_with_value_one() -> None:
    registry = CollectorRegistry()
    metrics = VigilMetrics(registry)
    metrics.set_build_info(version="1.2.3", environment="test")
    text = generate_latest(registry).decode()
    lines = [line for line in text.splitlines() if line.startswith("vigil_build_info{")]
    assert len(lines) == 1
    assert 'version="1.2.3"' in lines[0]
    assert 'environment="test"' in lines[0]
    assert lines[0].endswith(" 1.0")
    assert "vigil_http_requests_total" in text or "# TYPE vigil_http_requests_total" in text


def test_leader_and_maintenance_gauges_follow_their_setters() -> None:
    metrics = VigilMetrics(CollectorRegistry())
    metrics.set_leader(True)
    metrics.set_maintenance(True)
    assert metrics.registry.get_sample_value("vigil_scheduler_leader") == 1
    metrics.set_leader(False)
    assert metrics.registry.get_sample_value("vigil_scheduler_leader") == 0
    assert metrics.registry.get_sample_value("vigil_maintenance_mode") == 1
