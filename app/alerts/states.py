"""The state machine of one alert series, pure: inactive -> pending -> firing -> resolved.

Prometheus' semantics: a series whose condition holds is ``pending`` until it has held for
``for_seconds`` (at once ``firing`` when that is 0); a firing series whose condition stops
holding keeps firing until ``keep_firing_for_seconds`` have passed since it last held, then
resolves (the transition's ``to_state`` is ``resolved``, the series is ``inactive`` again).
A pending series whose condition stops holding goes back to inactive.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal

SeriesStateName = Literal["inactive", "pending", "firing"]
TransitionTo = Literal["inactive", "pending", "firing", "resolved"]

_COMPARE: Final[dict[str, Callable[[float, float], bool]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def holds(value: float, comparison: str, threshold: float) -> bool:
    """``value <comparison> threshold`` (NaN never holds)."""
    return _COMPARE[comparison](value, threshold) if value == value else False


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable 16-hex-digit id of a label set."""
    return _fingerprint(tuple(sorted(labels.items())))


@functools.lru_cache(maxsize=65_536)
def _fingerprint(items: tuple[tuple[str, str], ...]) -> str:
    encoded = json.dumps(dict(items), separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SeriesState:
    """What is persisted of a series between evaluations."""

    state: SeriesStateName = "inactive"
    value: float | None = None
    active_since: datetime | None = None
    firing_since: datetime | None = None
    last_seen_at: datetime | None = None


INACTIVE: Final = SeriesState()


@dataclass(frozen=True, slots=True)
class Step:
    """The series' next state and, if it changed, the transition ``(from, to)``."""

    state: SeriesState
    transition: tuple[SeriesStateName, TransitionTo] | None = None


def step(
    previous: SeriesState,
    *,
    condition: bool,
    value: float | None,
    now: datetime,
    for_seconds: int,
    keep_firing_for_seconds: int,
) -> Step:
    """Advance one evaluation. ``value`` None keeps the previous value (series absent)."""
    value = previous.value if value is None else value
    if condition:
        return _holding(previous, value=value, now=now, for_seconds=for_seconds)
    if previous.state == "pending":
        return Step(SeriesState(value=value), ("pending", "inactive"))
    if previous.state == "firing":
        seen = previous.last_seen_at
        if seen is not None and now - seen < timedelta(seconds=keep_firing_for_seconds):
            return Step(replace(previous, value=value))
        return Step(SeriesState(value=value), ("firing", "resolved"))
    return Step(replace(previous, value=value))


def _holding(
    previous: SeriesState, *, value: float | None, now: datetime, for_seconds: int
) -> Step:
    if previous.state == "firing":
        return Step(replace(previous, value=value, last_seen_at=now))
    since = previous.active_since if previous.state == "pending" else None
    since = since or now
    if now - since >= timedelta(seconds=for_seconds):
        firing = SeriesState("firing", value, since, now, now)
        return Step(firing, (previous.state, "firing"))
    pending = SeriesState("pending", value, since, None, now)
    return Step(pending, None if previous.state == "pending" else ("inactive", "pending"))
