"""The notifications a rule's changed series turn into (``app.notify.messages``), pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final, Protocol

from app.alerts.templates import render_all
from app.notify.messages import AlertNotification, AlertSeries, AlertStatus

RULE_PAGE: Final = "/alerts/rules/{rule_id}"


class RuleLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def annotations(self) -> Mapping[str, str]: ...


def alert_labels(rule: RuleLike, series_labels: Mapping[str, str]) -> dict[str, str]:
    """A series' labels as notified and silenced: the series' own, then the rule's labels
    (which win, as in Prometheus), then ``alertname`` and ``severity``."""
    return {
        **series_labels,
        **rule.labels,
        "alertname": rule.name,
        "severity": rule.severity,
    }


def alert_series(
    rule: RuleLike,
    labels: Mapping[str, str],
    *,
    value: float | None,
    starts_at: datetime,
    ends_at: datetime | None = None,
) -> AlertSeries:
    """One series with its labels (``alert_labels``) and rendered annotations."""
    full = alert_labels(rule, labels)
    return AlertSeries(
        labels=full,
        annotations=render_all(rule.annotations, value=value, labels=full),
        value=value,
        starts_at=starts_at,
        ends_at=ends_at,
    )


def notification(
    rule: RuleLike,
    status: AlertStatus,
    series: Iterable[AlertSeries],
    *,
    now: datetime,
    public_url: str,
    repeat: bool = False,
    key: str | None = None,
) -> AlertNotification:
    """A notification of ``series``; its idempotency key is unique per rule, status, kind,
    instant and set of series unless ``key`` is given."""
    ordered = tuple(sorted(series, key=lambda s: sorted(s.labels.items())))
    if key is None:
        digest = hashlib.sha256(repr([sorted(s.labels.items()) for s in ordered]).encode())
        kind = "repeat" if repeat else status
        key = f"alert:{rule.id}:{kind}:{now.isoformat()}:{digest.hexdigest()[:16]}"
    return AlertNotification(
        idempotency_key=key,
        rule_id=rule.id,
        rule_name=rule.name,
        severity=rule.severity,
        status=status,
        series=ordered,
        generator_url=public_url.rstrip("/") + RULE_PAGE.format(rule_id=rule.id),
        created_at=now,
        repeat=repeat,
    )


def firing_group_key(rule_id: int) -> str:
    """The stable key of a rule's still-firing group, which the outbox's re-sends extend
    with their time slot."""
    return f"alert:{rule_id}:firing-group"
