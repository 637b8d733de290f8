"""Metric declarations: names, units, labels, build info."""

from __future__ import annotations

import pytest
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
    "vigil_service_checks": ("counter", {"result"}),
    "vigil_service_scrapes": ("counter", {"outcome"}),
    "vigil_service_scrape_series_dropped": ("counter", {"service"}),
    "vigil_retention_rows_deleted": ("counter", {"table"}),
    "vigil_retention_batch_duration_seconds": ("histogram", {"table"}),
    "vigil_alert_evaluations": ("counter", {"rule", "result"}),
    "vigil_alert_evaluation_duration_seconds": ("histogram", set()),
    "vigil_alerts": ("gauge", {"rule", "severity", "state"}),
    "vigil_notifications": ("counter", {"channel_kind", "outcome"}),
    "vigil_build_info": ("gauge", {"version", "python", "environment"}),
    "vigil_maintenance_mode": ("gauge", set()),
    "vigil_scheduler_leader": ("gauge", set()),
    "vigil_scheduler_last_heartbeat_timestamp_seconds": ("gauge", set()),
    "vigil_rum_web_vital_p75": ("gauge", {"site", "metric"}),
    "vigil_rum_web_vital_samples": ("gauge", {"site", "metric"}),
}


def _declared(metrics: VigilMetrics) -> dict[str, tuple[str, set[str]]]:
    """Type and label names of every family: declared ones, and the HTTP families as scraped."""
    declared = {
        family.name: (family.type, set(metric._labelnames))
        for metric in vars(metrics).values()
        if hasattr(metric, "_labelnames")
        for family in metric.describe()
    }
    metrics.http.record("/items/{item_id}", "GET", 200, 0.01, 10)
    for family in metrics.http.collect():
        labels = {name for sample in family.samples for name in sample.labels} - {"le"}
        declared[family.name] = (family.type, labels)
    return declared


def test_every_metric_is_declared_once_with_bounded_labels() -> None:
    declared = _declared(VigilMetrics(CollectorRegistry()))
    assert set(declared) == set(EXPECTED)
    for name, (kind, labels) in EXPECTED.items():
        assert declared[name] == (kind, labels), name


def test_http_histograms_are_cumulative_with_le_labels_as_prometheus_writes_them() -> None:
    registry = CollectorRegistry()
    metrics = VigilMetrics(registry)
    for duration in (0.003, 0.005, 0.2, 30.0):
        metrics.http.record("/x", "GET", 200, duration, 5_000)
    metrics.http.record("/x", "GET", 200, None, 50)  # an SSE stream: counted, not timed
    labels = {"route": "/x", "method": "GET", "status_class": "2xx"}
    assert registry.get_sample_value("vigil_http_requests_total", labels) == 5
    bucket = "vigil_http_request_duration_seconds_bucket"
    assert registry.get_sample_value(bucket, labels | {"le": "0.005"}) == 2
    assert registry.get_sample_value(bucket, labels | {"le": "0.25"}) == 3
    assert registry.get_sample_value(bucket, labels | {"le": "10.0"}) == 3
    assert registry.get_sample_value(bucket, labels | {"le": "+Inf"}) == 4
    assert registry.get_sample_value(
        "vigil_http_request_duration_seconds_sum", labels
    ) == pytest.approx(30.208)
    size = {"route": "/x", "method": "GET"}
    assert (
        registry.get_sample_value("vigil_http_response_size_bytes_bucket", size | {"le": "100.0"})
        == 1
    )
    assert registry.get_sample_value("vigil_http_response_size_bytes_count", size) == 5
    text = generate_latest(registry).decode()
    assert (
        'vigil_http_request_duration_seconds_bucket{le="+Inf",'
        'method="GET",route="/x",status_class="2xx"} 4.0' in text
    )


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


def test_a_replica_that_stops_leading_drops_its_web_vitals_gauges() -> None:
    metrics = VigilMetrics(CollectorRegistry())
    metrics.set_leader(True)
    metrics.rum_web_vital_p75.labels(site="k1", metric="LCP").set(2.1)
    metrics.rum_web_vital_samples.labels(site="k1", metric="LCP").set(80)
    metrics.set_leader(True)
    labels = {"site": "k1", "metric": "LCP"}
    assert metrics.registry.get_sample_value("vigil_rum_web_vital_p75", labels) == 2.1
    metrics.set_leader(False)
    assert metrics.registry.get_sample_value("vigil_rum_web_vital_p75", labels) is None
    assert metrics.registry.get_sample_value("vigil_rum_web_vital_samples", labels) is None


def test_process_metrics_are_exposed_for_the_system_health_dashboard() -> None:
    metrics = VigilMetrics(CollectorRegistry())
    assert metrics.registry.get_sample_value("process_resident_memory_bytes")
    assert metrics.registry.get_sample_value("process_cpu_seconds_total") is not None
