"""The rules a new installation starts with (created when there is no rule at all).

Deleting some keeps them deleted; deleting every rule brings the defaults back on the next
start unless ``alerts.create_default_rules`` is false. The PromQL ones are written on
Vigil's own metric names (``app.telemetry.metrics``) and run only once
``alerts.prometheus_url`` is set.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import AlertRule
from app.alerts.rules import RuleIn, validate_rule
from app.db.base import utcnow
from app.db.upsert import insert_for

DEFAULT_RULES: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "LCP p75 above 4 s",
        "signal": "web_vital_p75",
        "params": {"metric": "LCP", "window_days": 1, "min_samples": 50},
        "comparison": ">",
        "threshold": 4000,
        "for": "10m",
        "severity": "warning",
        "annotations": {
            "summary": 'LCP p75 of {{ $labels.site }} is {{ $value | printf "%.0f" }} ms today',
            "description": "Poor above 4000 ms (web.dev). See the site's Web Vitals page.",
        },
    },
    {
        "name": "CLS p75 above 0.25",
        "signal": "web_vital_p75",
        "params": {"metric": "CLS", "window_days": 1, "min_samples": 50},
        "comparison": ">",
        "threshold": 0.25,
        "for": "10m",
        "severity": "warning",
        "annotations": {
            "summary": 'CLS p75 of {{ $labels.site }} is {{ $value | printf "%.3f" }} today',
            "description": "Poor above 0.25 (web.dev). See the site's Web Vitals page.",
        },
    },
    {
        "name": "Service down",
        "signal": "service_down",
        "params": {},
        "comparison": ">",
        "threshold": 0,
        "severity": "critical",
        "annotations": {
            "summary": "{{ $labels.service }} is down",
            "description": "Its health checks failed (3 in a row by default).",
        },
    },
    {
        "name": "Task failed",
        "signal": "task_failed",
        "params": {},
        "comparison": ">",
        "threshold": 0,
        "severity": "warning",
        "annotations": {
            "summary": "The last run of {{ $labels.service }} / {{ $labels.task }} failed"
        },
    },
    {
        "name": "Task overdue",
        "signal": "task_overdue",
        "params": {},
        "comparison": ">",
        "threshold": 0,
        "severity": "warning",
        "annotations": {
            "summary": "{{ $labels.service }} / {{ $labels.task }} has not reported in time",
            "description": '{{ $value | printf "%.0f" }} s past its grace period.',
        },
    },
    {
        "name": "Vigil SSE connection duration p95 above 10 s",
        "signal": "promql",
        "params": {
            "query": "histogram_quantile(0.95, sum by (le, stream) "
            "(rate(vigil_sse_connection_duration_seconds_bucket[5m])))"
        },
        "comparison": ">",
        "threshold": 10,
        "for": "5m",
        "severity": "warning",
        "annotations": {
            "summary": "SSE connections on {{ $labels.stream }} last "
            '{{ $value | printf "%.1f" }} s (p95 over 5 min)',
        },
    },
    {
        "name": "Vigil HTTP 5xx ratio above 5 %",
        "signal": "promql",
        "params": {
            "query": 'sum(rate(vigil_http_requests_total{status_class="5xx"}[5m])) '
            "/ sum(rate(vigil_http_requests_total[5m]))"
        },
        "comparison": ">",
        "threshold": 0.05,
        "for": "5m",
        "severity": "critical",
        "annotations": {
            "summary": "Share of Vigil's responses that are 5xx: "
            '{{ $value | printf "%.3f" }} over 5 min (alert above 0.05)',
        },
    },
)


def default_rules() -> list[RuleIn]:
    """The default rules, validated."""
    return [validate_rule(raw) for raw in DEFAULT_RULES]


async def ensure_default_rules(session: AsyncSession) -> int:
    """Create the default rules when there is no rule at all; returns how many were created.

    Safe to run concurrently (a name that exists is skipped). Does not commit.
    """
    if await session.scalar(select(func.count()).select_from(AlertRule)):
        return 0
    now = utcnow()
    created = 0
    for rule in default_rules():
        result = await session.execute(
            insert_for(session, AlertRule)
            .values(
                name=rule.name,
                signal=rule.signal,
                params=rule.params,
                comparison=rule.comparison,
                threshold=rule.threshold,
                for_seconds=rule.for_seconds,
                keep_firing_for_seconds=rule.keep_firing_for_seconds,
                severity=rule.severity,
                labels=rule.labels,
                annotations=rule.annotations,
                no_data=rule.no_data,
                enabled=rule.enabled,
                channel_ids=rule.channel_ids,
                health="unknown",
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        created += int(result.rowcount)  # type: ignore[attr-defined]
    return created
