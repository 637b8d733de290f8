"""View models of the alert pages: rows, the signal's parameter fields, the preview's text."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import available_timezones

import msgspec
import msgspec.inspect as mi

from app.alerts.export import number_text
from app.alerts.forms import PARAM_PREFIX
from app.alerts.maintenance import is_active
from app.alerts.models import (
    AlertRule,
    AlertSeries,
    AlertSilence,
    AlertTransition,
    MaintenanceWindow,
)
from app.alerts.notifications import alert_labels
from app.alerts.rules import format_duration
from app.alerts.signals import SIGNALS
from app.alerts.silence_store import WEEKDAYS, silence_status
from app.alerts.silences import make_matcher
from app.alerts.suppression import Suppression

SIGNAL_LABELS: Final[dict[str, str]] = {
    "web_vital_p75": "Web Vital p75",
    "service_down": "Service down",
    "service_latency_p95": "Service latency p95",
    "task_failed": "Task failed",
    "task_overdue": "Task overdue",
    "scraped_metric": "Scraped metric",
    "promql": "PromQL",
}
SIGNAL_HELP: Final[dict[str, str]] = {
    "web_vital_p75": "p75 of a Core Web Vital per site (or one page), in milliseconds "
    "(CLS unitless).",
    "service_down": "1 while a service's health checks say it is down, else 0.",
    "service_latency_p95": "p95 of a service's health-check latency, in milliseconds.",
    "task_failed": "1 while a task's last run failed, else 0.",
    "task_overdue": "Seconds a task is late past its grace period (0 when on time).",
    "scraped_metric": "A metric scraped from a service's /metrics, aggregated.",
    "promql": "Every series an instant PromQL query returns (needs alerts.prometheus_url).",
}
COMPARISON_LABELS: Final[dict[str, str]] = {
    ">": "> above",
    ">=": "≥ at or above",
    "<": "< below",
    "<=": "≤ at or below",
    "==": "= equal to",
    "!=": "≠ not equal to",
}
SEVERITY_LABELS: Final[dict[str, str]] = {
    "critical": "Critical",
    "warning": "Warning",
    "info": "Info",
}
NO_DATA_LABELS: Final[dict[str, str]] = {
    "ok": "OK: resolve its series",
    "alerting": "Alerting: one series with no value that holds",
    "keep": "Keep: leave every series as it is",
}
STATE_SYMBOLS: Final[dict[str, str]] = {
    "firing": "▲",
    "pending": "◆",
    "ok": "✓",
    "disabled": "○",
    "error": "✕",
}
"""A shape per state, so a state never relies on colour alone."""
_PARAM_TEXT: Final[dict[str, tuple[str, str]]] = {
    "metric": ("Metric", "LCP, INP, FCP and TTFB in milliseconds; CLS unitless."),
    "site_id": ("Site", "All sites: one series per site."),
    "page": ("Page", "A path like /checkout (needs a site); empty: the whole site."),
    "window_days": ("Window (days)", "UTC days ending today; 1 = today since 00:00 UTC."),
    "min_samples": ("Minimum samples", "Fewer samples in the window: no series."),
    "service_id": ("Service", "All services: one series per service."),
    "window_seconds": ("Window (seconds)", "Checks from this long ago until now."),
    "task": ("Task", "A task's name; empty: every task."),
    "selector": ("Metric selector", 'E.g. http_requests_total{code=~"5.."}'),
    "aggregation": ("Aggregation", "How the selected series are combined into one value."),
    "query": ("PromQL query", "Without the comparison: Vigil compares each series' value."),
}


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    selected: bool


def choices(options: Mapping[str, str], current: str) -> list[Choice]:
    return [Choice(value, label, value == current) for value, label in options.items()]


@dataclass(frozen=True, slots=True)
class ParamField:
    """One input of the signal's parameters in the rule form."""

    name: str
    input_name: str
    input_id: str
    label: str
    help: str
    kind: str
    """``select``, ``text``, ``number`` or ``textarea``."""
    value: str
    required: bool
    options: list[Choice]


def _literal_values(hint: Any) -> list[str] | None:
    """The choices of a ``Literal[...]`` annotation (``| None`` allowed), in their order."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is typing.Literal:
        return [str(a) for a in args]
    if len(args) == 1 and typing.get_origin(args[0]) is typing.Literal:
        return [str(a) for a in typing.get_args(args[0])]
    return None


def _base_type(info: Any) -> Any:
    if isinstance(info, mi.UnionType):
        return next((t for t in info.types if not isinstance(t, mi.NoneType)), info)
    return info


def param_fields(
    signal: str,
    values: Mapping[str, str],
    *,
    sites: Mapping[int, str],
    services: Mapping[int, str],
) -> list[ParamField]:
    """The inputs for ``signal``'s parameters, filled with ``values`` (defaults otherwise)."""
    kind = SIGNALS.get(signal)
    if kind is None:
        return []
    info = mi.type_info(kind.params_type)
    hints = typing.get_type_hints(kind.params_type)
    assert isinstance(info, mi.StructType)
    fields = []
    for spec in info.fields:
        label, help_text = _PARAM_TEXT.get(
            spec.name, (spec.name.replace("_", " ").capitalize(), "")
        )
        default = "" if spec.default in (msgspec.NODEFAULT, None) else str(spec.default)
        value = values.get(spec.name, default)
        base = _base_type(spec.type)
        literal = _literal_values(hints.get(spec.name))
        options: list[Choice] = []
        if spec.name in ("site_id", "service_id"):
            names = sites if spec.name == "site_id" else services
            every = "All sites" if spec.name == "site_id" else "All services"
            blank = [] if spec.required else [("", every)]
            known = [(str(i), n) for i, n in names.items()]
            if value and value not in dict(known):
                known.append((value, f"#{value} (no longer exists)"))
            options = [Choice(v, text, v == value) for v, text in [*blank, *known]]
            if spec.required and not names:
                help_text = "No services registered yet: register one first."
            input_kind = "select"
        elif literal is not None:
            options = [Choice(v, v, v == value) for v in literal]
            input_kind = "select"
        elif spec.name == "query":
            input_kind = "textarea"
        elif isinstance(base, mi.IntType | mi.FloatType):
            input_kind = "number"
        else:
            input_kind = "text"
        fields.append(
            ParamField(
                name=spec.name,
                input_name=PARAM_PREFIX + spec.name,
                input_id=f"rule-param-{spec.name.replace('_', '-')}",
                label=label,
                help=help_text,
                kind=input_kind,
                value=value,
                required=spec.required,
                options=options,
            )
        )
    return fields


def when_text(value: datetime | None, now: datetime) -> str:
    """``3 min ago`` / ``in 2 h`` (or ``never``); pages also show the exact UTC time."""
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")):
        if seconds >= size or size == 1:
            amount = f"{int(seconds // size)}\u00a0{unit}"
            return f"in {amount}" if ahead else f"{amount} ago"
    raise AssertionError("unreachable")


def utc_text(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def condition_text(rule: AlertRule) -> str:
    """``value > 4000 for 5m`` (``keep firing 10m`` when set)."""
    text = f"value {rule.comparison} {number_text(rule.threshold)}"
    if rule.for_seconds:
        text += f" for {format_duration(rule.for_seconds)}"
    if rule.keep_firing_for_seconds:
        text += f", keep firing {format_duration(rule.keep_firing_for_seconds)}"
    return text


def labels_text(labels: Mapping[str, str]) -> str:
    return ", ".join(f'{name}="{value}"' for name, value in sorted(labels.items())) or "(none)"


def value_text(value: float | None) -> str:
    if value is None:
        return "no value"
    return f"{value:.4g}"


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: int
    name: str
    signal: str
    condition: str
    severity: str
    enabled: bool
    state: str
    """``firing``, ``pending``, ``ok`` or ``disabled``."""
    state_label: str
    health: str
    last_error: str | None
    last_evaluated: str
    last_evaluated_utc: str


def rule_rows(
    rules: Sequence[AlertRule], counts: Mapping[int, Mapping[str, int]], now: datetime
) -> list[RuleRow]:
    """The rule table: state from the counts of firing / pending series per rule."""
    rows = []
    for rule in rules:
        firing = counts.get(rule.id, {}).get("firing", 0)
        pending = counts.get(rule.id, {}).get("pending", 0)
        if not rule.enabled:
            state, label = "disabled", "Disabled"
        elif firing:
            state, label = "firing", f"Firing ({firing})"
        elif pending:
            state, label = "pending", f"Pending ({pending})"
        else:
            state, label = "ok", "Not firing"
        rows.append(
            RuleRow(
                id=rule.id,
                name=rule.name,
                signal=SIGNAL_LABELS.get(rule.signal, rule.signal),
                condition=condition_text(rule),
                severity=rule.severity,
                enabled=rule.enabled,
                state=state,
                state_label=label,
                health=rule.health,
                last_error=rule.last_error,
                last_evaluated=when_text(rule.last_evaluated_at, now),
                last_evaluated_utc=utc_text(rule.last_evaluated_at),
            )
        )
    return rows


HELD_LABELS: Final[dict[str, str]] = {
    "silenced": "Silenced",
    "maintenance": "In maintenance",
    "inhibited": "Inhibited: its service is down",
}


@dataclass(frozen=True, slots=True)
class SeriesRow:
    rule_id: int
    rule_name: str
    severity: str
    state: str
    labels: str
    value: str
    since: str
    since_utc: str
    held: str | None
    """Why its notifications are held back now (silence, maintenance, inhibition), or None."""
    notified: str
    """Otherwise: when its firing notification was handed to the outbox, or why not yet."""


def _notified_text(series: AlertSeries, now: datetime) -> str:
    if series.state == "pending":
        return "Not while pending"
    if series.last_notified_at is None:
        return "Not sent yet"
    return f"Sent {when_text(series.last_notified_at, now)}"


def series_rows(
    pairs: Sequence[tuple[AlertSeries, AlertRule]],
    now: datetime,
    suppression: Suppression | None = None,
) -> list[SeriesRow]:
    rows = []
    for series, rule in pairs:
        reason = (
            suppression.reason(rule.signal, alert_labels(rule, series.labels))
            if suppression is not None
            else None
        )
        since = series.firing_since if series.state == "firing" else series.active_since
        rows.append(
            SeriesRow(
                rule_id=rule.id,
                rule_name=rule.name,
                severity=rule.severity,
                state=series.state,
                labels=labels_text(series.labels),
                value=value_text(series.value),
                since=when_text(since, now),
                since_utc=utc_text(since),
                held=HELD_LABELS[reason] if reason else None,
                notified=_notified_text(series, now),
            )
        )
    return rows


def state_counts(pairs: Sequence[tuple[AlertSeries, AlertRule]]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    for series, rule in pairs:
        by_state = counts.setdefault(rule.id, {})
        by_state[series.state] = by_state.get(series.state, 0) + 1
    return counts


# ------------------------------------------------------------------ preview

SHOWN_IN_PREVIEW: Final = 10
_RULE_LABELS: Final = frozenset({"alertname", "severity"})


@dataclass(frozen=True, slots=True)
class PreviewView:
    """The live preview's sentence and the series behind it."""

    status: str
    """``firing``, ``not-firing``, ``error`` or ``invalid``."""
    headline: str
    series: list[str]


def _series_text(labels: Mapping[str, str], value: float | None) -> str:
    shown = {k: v for k, v in labels.items() if k not in _RULE_LABELS}
    return f"{labels_text(shown)} (value {value_text(value)})"


def preview_view(result: Any, error: Any, *, no_data_policy: str = "ok") -> PreviewView:
    """``Would be firing now for 2 series: ...`` / ``Not firing ...`` / the error."""
    if error is not None:
        return PreviewView("invalid", f"Cannot preview yet: {error}", [])
    if result.error:
        return PreviewView("error", f"Error: {result.error}", [])
    firing = [s for s in result.series if s.would_fire]
    if firing:
        count = len(firing)
        lines = [_series_text(s.labels, s.value) for s in firing[:SHOWN_IN_PREVIEW]]
        if count > SHOWN_IN_PREVIEW:
            lines.append(f"… and {count - SHOWN_IN_PREVIEW} more")
        return PreviewView("firing", f"Would be firing now for {count} series:", lines)
    if result.no_data:
        if no_data_policy == "alerting":
            return PreviewView(
                "firing",
                "Would be firing now: the signal has no data (no-data policy: alerting).",
                [],
            )
        return PreviewView("not-firing", "Not firing: the signal has no data now.", [])
    total = len(result.series)
    return PreviewView(
        "not-firing",
        f"Not firing: none of {total} series meets the condition now.",
        [_series_text(s.labels, s.value) for s in result.series[:SHOWN_IN_PREVIEW]],
    )


# ------------------------------------------------------------------ one rule


@dataclass(frozen=True, slots=True)
class RuleDetail:
    id: int
    name: str
    signal: str
    params: list[tuple[str, str]]
    condition: str
    severity: str
    labels: list[tuple[str, str]]
    annotations: list[tuple[str, str]]
    no_data: str
    enabled: bool
    channels: list[str]
    missing_channels: list[int]
    health: str
    last_error: str | None
    last_evaluated: str
    last_evaluated_utc: str
    last_evaluation_seconds: float | None


def rule_detail(rule: AlertRule, channels: Mapping[int, str], now: datetime) -> RuleDetail:
    """A rule's settings as text; channels that no longer exist are listed apart."""
    return RuleDetail(
        id=rule.id,
        name=rule.name,
        signal=SIGNAL_LABELS.get(rule.signal, rule.signal),
        params=[
            (_PARAM_TEXT.get(k, (k, ""))[0], "(all)" if v is None else str(v))
            for k, v in rule.params.items()
        ],
        condition=condition_text(rule),
        severity=SEVERITY_LABELS.get(rule.severity, rule.severity),
        labels=sorted(rule.labels.items()),
        annotations=sorted(rule.annotations.items()),
        no_data=NO_DATA_LABELS.get(rule.no_data, rule.no_data),
        enabled=rule.enabled,
        channels=[channels[i] for i in rule.channel_ids if i in channels],
        missing_channels=[i for i in rule.channel_ids if i not in channels],
        health=rule.health,
        last_error=rule.last_error,
        last_evaluated=when_text(rule.last_evaluated_at, now),
        last_evaluated_utc=utc_text(rule.last_evaluated_at),
        last_evaluation_seconds=rule.last_evaluation_seconds,
    )


@dataclass(frozen=True, slots=True)
class TransitionRow:
    at: str
    labels: str
    from_state: str
    to_state: str
    value: str


def transition_rows(rows: Sequence[AlertTransition]) -> list[TransitionRow]:
    return [
        TransitionRow(
            at=utc_text(t.at),
            labels=labels_text(t.labels),
            from_state=t.from_state,
            to_state=t.to_state,
            value=value_text(t.value),
        )
        for t in rows
    ]


# ------------------------------------------------------------------ silences and windows

TIMEZONES: Final = sorted(available_timezones())


def matcher_texts(stored: Sequence[Mapping[str, str]]) -> list[str]:
    """Stored matchers as typed: ``severity=~"crit.*"``."""
    return [str(make_matcher(m["name"], m["op"], m["value"])) for m in stored]


@dataclass(frozen=True, slots=True)
class SilenceRow:
    id: int
    matchers: list[str]
    status: str
    starts: str
    ends: str
    ends_in: str
    comment: str
    author: str


def silence_rows(silences: Sequence[AlertSilence], now: datetime) -> list[SilenceRow]:
    rows = []
    for silence in silences:
        status = silence_status(silence, now)
        rows.append(
            SilenceRow(
                id=silence.id,
                matchers=matcher_texts(silence.matchers),
                status=status,
                starts=utc_text(silence.starts_at),
                ends=utc_text(silence.ends_at),
                ends_in=when_text(silence.ends_at, now),
                comment=silence.comment,
                author=silence.author,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class WindowRow:
    id: int
    name: str
    scope: str
    schedule: str
    active: bool
    comment: str


def window_rows(
    windows: Sequence[MaintenanceWindow], services: Mapping[int, str], now: datetime
) -> list[WindowRow]:
    rows = []
    for window in windows:
        if window.kind == "once":
            schedule = f"Once, {utc_text(window.starts_at)} to {utc_text(window.ends_at)}"
        else:
            day = WEEKDAYS[window.weekday or 0]
            start = window.start_time.strftime("%H:%M") if window.start_time else "?"
            schedule = (
                f"Every {day} at {start} {window.timezone} for "
                f"{format_duration((window.duration_minutes or 0) * 60)}"
            )
        scope = (
            "All services"
            if window.service_id is None
            else services.get(window.service_id, f"service {window.service_id}")
        )
        rows.append(
            WindowRow(
                id=window.id,
                name=window.name,
                scope=scope,
                schedule=schedule,
                active=is_active(window, now),
                comment=window.comment,
            )
        )
    return rows
