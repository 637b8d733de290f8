"""Every Prometheus metric Vigil exports, declared once on a registry given as a parameter.

Labels are bounded: route templates, methods, status classes, stream / task / rule names and
other values chosen by code or by an admin — never a raw path, a request id, a user or an IP.
"""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from app.telemetry.http_metrics import HttpMetrics

HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0, 10_000_000.0)
SSE_DURATION_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0)
TASK_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
DB_DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
ALERT_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0)


class VigilMetrics:
    """All of Vigil's own metrics, registered on ``registry``.

    >>> from prometheus_client import CollectorRegistry
    >>> metrics = VigilMetrics(CollectorRegistry())
    >>> metrics.task_runs.labels(task="retention", status="success").inc()
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry

        # HTTP (recorded by app.telemetry.middleware; plain numbers, see http_metrics.py)
        self.http = HttpMetrics(
            r, duration_buckets=HTTP_DURATION_BUCKETS, size_buckets=SIZE_BUCKETS
        )

        # Server-sent events (app.telemetry.sse)
        self.sse_connections_active = Gauge(
            "vigil_sse_connections_active",
            "Open server-sent-event connections.",
            ["stream"],
            registry=r,
        )
        self.sse_connection_duration = Histogram(
            "vigil_sse_connection_duration_seconds",
            "How long a server-sent-event connection stayed open.",
            ["stream"],
            buckets=SSE_DURATION_BUCKETS,
            registry=r,
        )
        self.sse_messages = Counter(
            "vigil_sse_messages",
            "Server-sent-event messages, by write status (ok, write_error).",
            ["stream", "status"],
            registry=r,
        )
        self.sse_disconnects = Counter(
            "vigil_sse_disconnects",
            "Closed SSE connections, by reason (client_closed, server_closed, write_error, error).",
            ["stream", "reason"],
            registry=r,
        )

        # Background jobs (app.telemetry.tasks)
        self.task_runs = Counter(
            "vigil_task_runs",
            "Background job runs, by status (success, error, cancelled, timeout).",
            ["task", "status"],
            registry=r,
        )
        self.task_duration = Histogram(
            "vigil_task_duration_seconds",
            "Background job run duration.",
            ["task"],
            buckets=TASK_DURATION_BUCKETS,
            registry=r,
        )
        self.tasks_active = Gauge(
            "vigil_tasks_active",
            "Background job runs in progress.",
            ["task"],
            registry=r,
        )

        # RUM ingest
        self.rum_events = Counter(
            "vigil_rum_events",
            "Web Vitals beacon events, by outcome (accepted or the reject reason).",
            ["site", "metric", "outcome"],
            registry=r,
        )

        # Web Vitals per site today (UTC), from the stored aggregates (app.rum.gauges)
        self.rum_web_vital_p75 = Gauge(
            "vigil_rum_web_vital_p75",
            "p75 of a Core Web Vital per site today (UTC): seconds, CLS unitless.",
            ["site", "metric"],
            registry=r,
        )
        self.rum_web_vital_samples = Gauge(
            "vigil_rum_web_vital_samples",
            "Samples behind vigil_rum_web_vital_p75 (today, UTC).",
            ["site", "metric"],
            registry=r,
        )

        # Database (app.telemetry.db_metrics)
        self.db_query_duration = Histogram(
            "vigil_db_query_duration_seconds",
            "SQL statement duration, by operation and first table.",
            ["operation", "table"],
            buckets=DB_DURATION_BUCKETS,
            registry=r,
        )
        self.db_slow_queries = Counter(
            "vigil_db_slow_queries",
            "SQL statements slower than database.slow_query_seconds.",
            ["operation", "table"],
            registry=r,
        )

        # Registered services (app.services.jobs)
        self.service_checks = Counter(
            "vigil_service_checks",
            "Health checks of registered services, by result (ok or the error class).",
            ["result"],
            registry=r,
        )
        self.service_scrapes = Counter(
            "vigil_service_scrapes",
            "Scrapes of registered services' /metrics, by outcome (ok, error).",
            ["outcome"],
            registry=r,
        )
        self.service_scrape_series_dropped = Counter(
            "vigil_service_scrape_series_dropped",
            "Scraped series not kept: over services.max_series_per_service.",
            ["service"],
            registry=r,
        )

        # Retention (app.db.retention)
        self.retention_rows_deleted = Counter(
            "vigil_retention_rows_deleted",
            "Expired rows deleted by the retention job, by table.",
            ["table"],
            registry=r,
        )
        self.retention_batch_duration = Histogram(
            "vigil_retention_batch_duration_seconds",
            "Duration of one retention delete batch (one transaction), by table.",
            ["table"],
            buckets=DB_DURATION_BUCKETS,
            registry=r,
        )

        # Alerts
        self.alert_evaluations = Counter(
            "vigil_alert_evaluations",
            "Alert rule evaluations, by rule and result.",
            ["rule", "result"],
            registry=r,
        )
        self.alert_evaluation_duration = Histogram(
            "vigil_alert_evaluation_duration_seconds",
            "Duration of one alert rule evaluation.",
            buckets=ALERT_DURATION_BUCKETS,
            registry=r,
        )
        self.alerts = Gauge(
            "vigil_alerts",
            "Alert series per rule, severity and state (pending, firing).",
            ["rule", "severity", "state"],
            registry=r,
        )

        # Notifications
        self.notifications = Counter(
            "vigil_notifications",
            "Notification deliveries, by channel kind and outcome (sent, failed).",
            ["channel_kind", "outcome"],
            registry=r,
        )

        # Process state
        self.build_info = Gauge(
            "vigil_build_info",
            "Always 1; the labels say which build is running.",
            ["version", "python", "environment"],
            registry=r,
        )
        self.maintenance_mode = Gauge(
            "vigil_maintenance_mode",
            "1 while a maintenance window suppresses notifications.",
            registry=r,
        )
        self.scheduler_leader = Gauge(
            "vigil_scheduler_leader",
            "1 while this instance holds the scheduler lease.",
            registry=r,
        )
        self.scheduler_last_heartbeat = Gauge(
            "vigil_scheduler_last_heartbeat_timestamp_seconds",
            "Unix time of this instance's last completed scheduler heartbeat.",
            registry=r,
        )
        # process_* (memory, CPU, open files) for the system-health dashboard
        ProcessCollector(registry=r)

    def set_build_info(self, *, version: str, environment: str) -> None:
        """Expose ``vigil_build_info{version,python,environment} 1``."""
        self.build_info.labels(
            version=version, python=platform.python_version(), environment=environment
        ).set(1)

    def set_leader(self, leader: bool) -> None:
        """``vigil_scheduler_leader`` = 1 while this instance holds the scheduler lease.

        A replica that does not lead drops its Web Vitals gauges: only the leader refreshes
        them, and a former leader's values would go stale.
        """
        self.scheduler_leader.set(1 if leader else 0)
        if not leader:
            self.rum_web_vital_p75.clear()
            self.rum_web_vital_samples.clear()

    def set_maintenance(self, active: bool) -> None:
        """``vigil_maintenance_mode`` = 1 while a maintenance window is active."""
        self.maintenance_mode.set(1 if active else 0)
