"""HTML form payloads of the alert pages, turned into the raw input the engine validates.

The rule form posts flat text fields (``param.<name>`` for the signal's parameters, one
``channel`` per ticked box, labels and annotations as ``name=value`` lines);
:meth:`RuleForm.raw` turns them into the dict :func:`app.alerts.rules.validate_rule` checks
(it reads numbers and durations from text itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any, Final

from app.alerts.export import number_text
from app.alerts.rules import RuleError, format_duration
from app.alerts.silence_store import InputError

PARAM_PREFIX: Final = "param."
DATETIME_FORMAT: Final = "%Y-%m-%dT%H:%M"
"""What ``<input type="datetime-local">`` posts (read as UTC)."""


def _text(values: Mapping[str, list[str]], key: str, default: str = "") -> str:
    found = values.get(key)
    return found[-1] if found else default


def parse_pairs(text: str, *, field: str) -> dict[str, str]:
    """``name=value`` lines (blank lines skipped) as a dict."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise RuleError(field, f"line {number}: expected name=value, got {line.strip()!r}")
        pairs[name.strip()] = value.strip()
    return pairs


def pairs_text(pairs: Mapping[str, str]) -> str:
    return "\n".join(f"{name}={value}" for name, value in pairs.items())


@dataclass
class RuleForm:
    """The rule form as typed: every value kept as text so it can be shown again."""

    name: str = ""
    signal: str = "web_vital_p75"
    params: dict[str, str] = field(default_factory=dict)
    comparison: str = ">"
    threshold: str = "0"
    for_: str = "0s"
    keep_firing_for: str = "0s"
    severity: str = "warning"
    labels: str = ""
    annotations: str = ""
    no_data: str = "ok"
    enabled: bool = True
    channels: list[str] = field(default_factory=list)

    @classmethod
    def from_form(cls, items: Iterable[tuple[str, Any]]) -> RuleForm:
        """From a posted form's (or query string's) ``multi_items()``."""
        form: dict[str, list[str]] = {}
        for key, value in items:
            if isinstance(value, str):
                form.setdefault(key, []).append(value)
        return cls(
            name=_text(form, "name"),
            signal=_text(form, "signal", "web_vital_p75"),
            params={
                key.removeprefix(PARAM_PREFIX): _text(form, key)
                for key in form
                if key.startswith(PARAM_PREFIX)
            },
            comparison=_text(form, "comparison", ">"),
            threshold=_text(form, "threshold"),
            for_=_text(form, "for"),
            keep_firing_for=_text(form, "keep_firing_for"),
            severity=_text(form, "severity", "warning"),
            labels=_text(form, "labels"),
            annotations=_text(form, "annotations"),
            no_data=_text(form, "no_data", "ok"),
            enabled=_text(form, "enabled") in ("on", "true", "1"),
            channels=form.get("channel", []),
        )

    @classmethod
    def of(cls, rule: Any) -> RuleForm:
        """The form filled in from a stored rule (or a ``RuleIn``)."""
        return cls(
            name=rule.name,
            signal=rule.signal,
            params={k: "" if v is None else str(v) for k, v in dict(rule.params).items()},
            comparison=rule.comparison,
            threshold=number_text(rule.threshold),
            for_=format_duration(rule.for_seconds),
            keep_firing_for=format_duration(rule.keep_firing_for_seconds),
            severity=rule.severity,
            labels=pairs_text(rule.labels),
            annotations=pairs_text(rule.annotations),
            no_data=rule.no_data,
            enabled=rule.enabled,
            channels=[str(i) for i in rule.channel_ids],
        )

    def raw(self) -> dict[str, Any]:
        """The input of ``validate_rule``; :class:`RuleError` for unreadable label lines."""
        return {
            "name": self.name,
            "signal": self.signal,
            "params": {name: value.strip() for name, value in self.params.items()},
            "comparison": self.comparison,
            "threshold": self.threshold.strip(),
            "for": self.for_.strip() or "0",
            "keep_firing_for": self.keep_firing_for.strip() or "0",
            "severity": self.severity,
            "labels": parse_pairs(self.labels, field="labels"),
            "annotations": parse_pairs(self.annotations, field="annotations"),
            "no_data": self.no_data,
            "enabled": self.enabled,
            "channel_ids": [value.strip() for value in self.channels],
        }


# ------------------------------------------------------------------ silences and windows


def parse_utc(text: str, *, field: str) -> datetime:
    """``2026-11-23T18:00`` (or with seconds / an offset) as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            field, f"expected a date and time like 2026-11-23T18:00, got {text!r}"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_text(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime(DATETIME_FORMAT) if value else ""


@dataclass
class SilenceForm:
    matchers: str = ""
    starts_at: str = ""
    ends_at: str = ""
    comment: str = ""

    def matcher_lines(self) -> list[str]:
        return [line.strip() for line in self.matchers.splitlines() if line.strip()]


@dataclass
class WindowForm:
    name: str = ""
    service_id: str = ""
    kind: str = "once"
    starts_at: str = ""
    ends_at: str = ""
    weekday: str = "0"
    start_time: str = "02:00"
    duration_minutes: str = "60"
    timezone: str = "UTC"
    comment: str = ""

    def fields(self) -> dict[str, Any]:
        """Keyword arguments of ``check_window``; :class:`InputError` naming the field."""
        values: dict[str, Any] = {
            "name": self.name,
            "service_id": _optional_int(self.service_id, field="service_id"),
            "kind": self.kind,
            "comment": self.comment,
        }
        if self.kind == "once":
            values["starts_at"] = parse_utc(self.starts_at, field="starts_at")
            values["ends_at"] = parse_utc(self.ends_at, field="ends_at")
        elif self.kind == "weekly":
            values["weekday"] = _optional_int(self.weekday, field="weekday")
            values["start_time"] = parse_time(self.start_time)
            values["duration_minutes"] = _optional_int(
                self.duration_minutes, field="duration_minutes"
            )
            values["timezone"] = self.timezone
        return values


def _optional_int(text: str, *, field: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(field, f"expected a whole number, got {text!r}") from None


def parse_time(text: str) -> time:
    """``02:30`` (or ``02:30:00``) as a time of day; :class:`InputError` otherwise."""
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise InputError("start_time", f"expected a time like 02:30, got {text!r}") from None
