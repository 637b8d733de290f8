"""Which series of a notification a channel receives: its severities and label matchers.

Pure: values in, values out. A series is matched on its labels plus ``alertname`` (the
rule's name) and ``severity`` unless the series carries those itself. A channel with no
severities takes every severity; with no matchers, every series.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import msgspec

from app.notify.messages import AlertNotification, AlertSeries

MatchOp = Literal["=", "!=", "=~", "!~"]
LabelName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]
MAX_MATCHERS = 20


class LabelMatcher(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``name op value``, as in Alertmanager: ``=~``/``!~`` match the whole value."""

    name: LabelName
    op: MatchOp
    value: Annotated[str, msgspec.Meta(max_length=500)]

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(
                    f"value: invalid regular expression {self.value!r}: {exc}"
                ) from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def series_labels(notification: AlertNotification, series: AlertSeries) -> dict[str, str]:
    """The labels routing sees: the series' own, plus ``alertname`` and ``severity``."""
    return {"alertname": notification.rule_name, "severity": notification.severity} | dict(
        series.labels
    )


def route(
    notification: AlertNotification,
    *,
    severities: Sequence[str],
    matchers: Sequence[LabelMatcher],
) -> AlertNotification | None:
    """The notification as this channel gets it (only matching series), or None."""
    if severities and notification.severity not in severities:
        return None
    if not matchers:
        return notification
    kept = tuple(
        s
        for s in notification.series
        if all(m.matches(series_labels(notification, s)) for m in matchers)
    )
    if not kept:
        return None
    if len(kept) == len(notification.series):
        return notification
    return msgspec.structs.replace(notification, series=kept)


def parse_matchers(raw: Sequence[Mapping[str, str]]) -> list[LabelMatcher]:
    """Matchers as stored in a channel row (already validated when saved)."""
    return [msgspec.convert(item, LabelMatcher) for item in raw]
