"""A rule as admins write it: :func:`validate_rule` turns raw input (a form, JSON, YAML) into
a :class:`RuleIn` or raises :class:`RuleError` naming the field.

Pure; the checks that need I/O (channels exist, Prometheus accepts the query) are in
:func:`check_references`. Usage::

    rule = validate_rule({"name": "LCP slow", "signal": "web_vital_p75",
                          "params": {"metric": "LCP"}, "threshold": "4000", "for": "10m"})
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final, Literal

import httpx
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import COMPARISONS, NO_DATA_POLICIES, SEVERITIES
from app.alerts.signals import SIGNALS, ParamsError, SignalError
from app.alerts.signals.promql import check_with_prometheus
from app.alerts.silences import LABEL_NAME
from app.alerts.templates import TemplateError, parse
from app.http_input import MAX_ID
from app.notify.channels_query import existing_channel_ids

SignalKind = Literal[
    "web_vital_p75",
    "service_down",
    "service_latency_p95",
    "task_failed",
    "task_overdue",
    "scraped_metric",
    "promql",
]
Comparison = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["critical", "warning", "info"]
NoData = Literal["ok", "alerting", "keep"]

MAX_NAME_LENGTH: Final = 200
MAX_DURATION_SECONDS: Final = 30 * 86_400
MAX_LABELS: Final = 30
MAX_TEXT_LENGTH: Final = 2000
RESERVED_LABELS: Final = frozenset({"alertname", "severity"})
"""Set from the rule's name and severity; a rule's own labels cannot override them."""
_DURATION: Final = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TRUE: Final = frozenset({"true", "on", "1", "yes"})
_FALSE: Final = frozenset({"false", "off", "0", "no", ""})


class RuleError(ValueError):
    """Input that is not a valid rule: ``field`` (e.g. ``threshold``, ``params.selector``)
    and a message saying what was expected."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RuleIn(msgspec.Struct, kw_only=True, frozen=True):
    """A validated rule: every stored field but the evaluator's bookkeeping."""

    name: str
    signal: SignalKind
    params: dict[str, Any]
    """The signal's parameters, normalised (defaults filled in)."""
    comparison: Comparison
    threshold: float
    for_seconds: int = 0
    keep_firing_for_seconds: int = 0
    severity: Severity = "warning"
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    annotations: dict[str, str] = msgspec.field(default_factory=dict)
    no_data: NoData = "ok"
    enabled: bool = True
    channel_ids: list[int] = msgspec.field(default_factory=list)


_FIELDS: Final = frozenset(RuleIn.__struct_fields__) | {"for", "keep_firing_for"}


def validate_rule(raw: Mapping[str, Any]) -> RuleIn:
    """Check every field of ``raw``; raises :class:`RuleError` on the first bad one.

    ``for`` / ``keep_firing_for`` may be given instead of ``*_seconds``, as seconds or a
    Prometheus duration (``90s``, ``5m``, ``1h30m``). Numbers may be strings (forms).
    """
    if not isinstance(raw, Mapping):
        raise RuleError("rule", "expected a mapping of fields")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise RuleError(unknown[0], "unknown field")
    signal = _choice(raw, "signal", tuple(SIGNALS), required=True)
    return RuleIn(
        name=_name(raw.get("name")),
        signal=signal,  # type: ignore[arg-type]
        params=_params(signal, raw.get("params", {})),
        comparison=_choice(raw, "comparison", COMPARISONS, default=">"),  # type: ignore[arg-type]
        threshold=_number(raw.get("threshold"), "threshold"),
        for_seconds=_duration(raw, "for"),
        keep_firing_for_seconds=_duration(raw, "keep_firing_for"),
        severity=_choice(raw, "severity", SEVERITIES, default="warning"),  # type: ignore[arg-type]
        labels=_labels(raw.get("labels", {}), "labels"),
        annotations=_annotations(raw.get("annotations", {})),
        no_data=_choice(raw, "no_data", NO_DATA_POLICIES, default="ok"),  # type: ignore[arg-type]
        enabled=_bool(raw.get("enabled", True), "enabled"),
        channel_ids=_channel_ids(raw.get("channel_ids", [])),
    )


async def check_references(
    session: AsyncSession,
    rule: RuleIn,
    *,
    prometheus_url: str = "",
    http: httpx.AsyncClient | None = None,
) -> None:
    """The checks :func:`validate_rule` cannot do alone: every channel exists, and (when a
    Prometheus is configured and ``http`` given) Prometheus accepts a PromQL query.

    Raises :class:`RuleError`; an unreachable Prometheus does not make the rule invalid.
    """
    if rule.channel_ids:
        missing = sorted(
            set(rule.channel_ids) - await existing_channel_ids(session, rule.channel_ids)
        )
        if missing:
            raise RuleError("channel_ids", f"no channel with id {', '.join(map(str, missing))}")
    if rule.signal == "promql" and prometheus_url and http is not None:
        try:
            await check_with_prometheus(http, prometheus_url, str(rule.params["query"]))
        except ParamsError as exc:
            raise RuleError(f"params.{exc.field}", exc.message) from None
        except SignalError:
            pass


def parse_duration(value: Any, field: str) -> int:
    """Seconds from an int, a numeric string or a Prometheus duration (``1h30m``)."""
    if isinstance(value, bool):
        raise RuleError(field, f"expected a duration such as 300 or 5m, got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value != int(value):
            raise RuleError(field, f"expected whole seconds, got {value!r}")
        seconds = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            seconds = int(text)
        else:
            match = _DURATION.match(text)
            if not text or match is None:
                raise RuleError(
                    field, f"expected a duration such as 300, 90s, 5m or 1h30m, got {value!r}"
                )
            days, hours, minutes, secs = (int(part or 0) for part in match.groups())
            seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    else:
        raise RuleError(field, f"expected a duration such as 300 or 5m, got {value!r}")
    if not 0 <= seconds <= MAX_DURATION_SECONDS:
        raise RuleError(field, f"expected between 0 and {MAX_DURATION_SECONDS} seconds")
    return seconds


def format_duration(seconds: int) -> str:
    """``5400`` -> ``1h30m`` (``0s`` for zero): the inverse of :func:`parse_duration`."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _duration(raw: Mapping[str, Any], name: str) -> int:
    field = f"{name}_seconds"
    if field in raw and name in raw:
        raise RuleError(name, f"give {name} or {field}, not both")
    if field in raw:
        return parse_duration(raw[field], field)
    return parse_duration(raw.get(name, 0), name)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError("name", "required")
    name = " ".join(value.split())
    if len(name) > MAX_NAME_LENGTH:
        raise RuleError("name", f"at most {MAX_NAME_LENGTH} characters")
    return name


def _choice(
    raw: Mapping[str, Any],
    field: str,
    choices: tuple[str, ...],
    *,
    default: str | None = None,
    required: bool = False,
) -> str:
    value = raw.get(field, default)
    if value is None and required:
        raise RuleError(field, f"required: one of {', '.join(choices)}")
    if value not in choices:
        raise RuleError(field, f"expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _number(value: Any, field: str) -> float:
    if value is None or value == "":
        raise RuleError(field, "required: a number")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RuleError(field, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise RuleError(field, f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise RuleError(field, f"expected a finite number, got {value!r}")
    return number


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise RuleError(field, f"expected true or false, got {value!r}")


def _params(signal: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise RuleError("params", "expected a mapping of the signal's parameters")
    kind = SIGNALS[signal]
    given = {k: v for k, v in value.items() if v is not None and v != ""}
    try:
        params = msgspec.convert(given, kind.params_type, strict=False)
        kind.check(params)
    except msgspec.ValidationError as exc:
        raise RuleError(*_params_error(str(exc))) from None
    except ParamsError as exc:
        raise RuleError(f"params.{exc.field}", exc.message) from None
    return msgspec.to_builtins(params)  # type: ignore[no-any-return]


_PARAM_PATH: Final = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_PARAM_MISSING: Final = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_PARAM_UNKNOWN: Final = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")


def _params_error(message: str) -> tuple[str, str]:
    """msgspec's message as (``params.<field>``, reason)."""
    for pattern, reason in ((_PARAM_MISSING, "required"), (_PARAM_UNKNOWN, "unknown parameter")):
        match = pattern.match(message)
        if match:
            return f"params.{match['field']}", reason
    path = _PARAM_PATH.search(message)
    field = f"params.{path['path']}" if path else "params"
    detail = message[: path.start()] if path else message
    return field, detail[0].lower() + detail[1:]


def _labels(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise RuleError(field, "expected a mapping of names to strings")
    if len(value) > MAX_LABELS:
        raise RuleError(field, f"at most {MAX_LABELS}")
    labels = {}
    for name, text in value.items():
        if not isinstance(name, str) or not LABEL_NAME.match(name):
            raise RuleError(
                field, f"invalid name {name!r}: letters, digits and _, not first a digit"
            )
        if field == "labels" and name in RESERVED_LABELS:
            raise RuleError(field, f"{name} is set from the rule itself")
        if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
            raise RuleError(field, f"{name}: expected text of at most {MAX_TEXT_LENGTH} characters")
        labels[name] = text
    return labels


def _annotations(value: Any) -> dict[str, str]:
    annotations = _labels(value, "annotations")
    for name, text in annotations.items():
        try:
            parse(text)
        except TemplateError as exc:
            raise RuleError("annotations", f"{name}: {exc}") from None
    return annotations


def _channel_ids(value: Any) -> list[int]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise RuleError("channel_ids", "expected a list of channel ids")
    ids: list[int] = []
    for item in value:
        if isinstance(item, bool):
            raise RuleError("channel_ids", f"expected channel ids, got {item!r}")
        try:
            channel_id = int(item)
        except (TypeError, ValueError):
            raise RuleError("channel_ids", f"expected channel ids, got {item!r}") from None
        if not 1 <= channel_id <= MAX_ID:
            raise RuleError("channel_ids", f"expected channel ids, got {item!r}")
        if channel_id not in ids:
            ids.append(channel_id)
    return ids
