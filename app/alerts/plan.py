"""What one evaluation of one rule changes, pure: series states, transitions, notifications.

Given the rule, its stored series, the signal's current samples and the suppression of the
moment, :func:`plan_rule` returns the rows to write and the notifications to enqueue in the
same transaction. Notification rules:

- a series that starts firing is notified at once, unless suppressed (silence, maintenance,
  inhibition); a firing series never notified is notified as soon as it no longer is;
- a resolve is notified when its firing was;
- while firing, a reminder (``repeat``) goes out every ``repeat_interval`` with every
  notified, unsuppressed firing series of the rule;
- ``resend``: the rule's notified, unsuppressed firing series, for channels that expire
  alerts (the outbox keys it by time slot); none in a tick that notifies firing anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.alerts.notifications import (
    RuleLike,
    alert_labels,
    alert_series,
    firing_group_key,
    notification,
)
from app.alerts.signals import Sample
from app.alerts.states import INACTIVE, SeriesState, fingerprint, holds, step
from app.notify.messages import AlertNotification, AlertSeries


class PlannedRule(RuleLike, Protocol):
    """What planning reads of a rule besides ``RuleLike``."""

    @property
    def signal(self) -> str: ...
    @property
    def comparison(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def for_seconds(self) -> int: ...
    @property
    def keep_firing_for_seconds(self) -> int: ...
    @property
    def no_data(self) -> str: ...


@dataclass(frozen=True, slots=True)
class StoredSeries:
    """A series as persisted (``alert_series``)."""

    fingerprint: str
    labels: dict[str, str]
    state: SeriesState = INACTIVE
    last_notified_at: datetime | None = None


@dataclass(slots=True)
class SeriesWrite:
    """A series row to upsert."""

    fingerprint: str
    labels: dict[str, str]
    state: SeriesState
    last_notified_at: datetime | None
    resolved_at: datetime | None = None
    """When the series went back to inactive (None while pending or firing)."""

    def row(self, rule_id: int) -> dict[str, Any]:
        return {
            "rule_id": rule_id,
            "fingerprint": self.fingerprint,
            "labels": self.labels,
            "state": self.state.state,
            "value": self.state.value,
            "active_since": self.state.active_since,
            "firing_since": self.state.firing_since,
            "last_seen_at": self.state.last_seen_at,
            "last_notified_at": self.last_notified_at,
            "resolved_at": self.resolved_at,
        }


@dataclass(slots=True)
class RulePlan:
    writes: list[SeriesWrite] = field(default_factory=list)
    """Series whose state or notification changed: written with the notifications."""
    refresh: list[SeriesWrite] = field(default_factory=list)
    """Active series whose value or ``last_seen_at`` alone changed: written in a batch."""
    transitions: list[dict[str, Any]] = field(default_factory=list)
    """``alert_transitions`` rows without ``rule_id``."""
    notifications: list[AlertNotification] = field(default_factory=list)
    resend: AlertNotification | None = None
    pending: int = 0
    firing: int = 0


Suppressed = Callable[[Mapping[str, str]], bool]
"""Given a series' full alert labels: are its notifications held back now?"""


def plan_rule(
    rule: PlannedRule,
    stored: Mapping[str, StoredSeries],
    samples: Sequence[Sample] | None,
    *,
    now: datetime,
    suppressed: Suppressed,
    repeat_interval: timedelta,
    public_url: str,
) -> RulePlan:
    """Plan one evaluation; ``samples`` None: the signal could not be read (keep states)."""
    current = _current(rule, samples)
    plan = RulePlan()
    firing_now: list[SeriesWrite] = []
    newly_notified: list[AlertSeries] = []
    resolved: list[AlertSeries] = []
    for fp in {**stored, **(current or {})}:
        if current is not None and fp not in stored and not current[fp][2]:
            continue  # inactive and staying so: nothing to store
        old = stored.get(fp) or StoredSeries(fp, current[fp][0] if current else {})
        write = SeriesWrite(fp, old.labels, old.state, old.last_notified_at)
        changed = refreshed = False
        if current is not None:  # None: keep the states as they are
            labels, value, condition = current.get(fp, (old.labels, None, False))
            result = step(
                old.state,
                condition=condition,
                value=value,
                now=now,
                for_seconds=rule.for_seconds,
                keep_firing_for_seconds=rule.keep_firing_for_seconds,
            )
            write = SeriesWrite(fp, labels, result.state, old.last_notified_at)
            changed = result.transition is not None
            refreshed = result.state != old.state and result.state.state != "inactive"
            if result.transition is not None:
                plan.transitions.append(
                    _transition(fp, labels, result.transition, result.state, now)
                )
                if result.state.state == "inactive":
                    write.resolved_at = now
                if result.transition[1] == "resolved":
                    if old.last_notified_at is not None:
                        resolved.append(_series(rule, old, write, now, ended=True))
                    write.last_notified_at = None
        if write.state.state == "firing":
            firing_now.append(write)
            if write.last_notified_at is None and not suppressed(alert_labels(rule, write.labels)):
                write.last_notified_at = now
                newly_notified.append(_series(rule, old, write, now))
                changed = True
        elif write.state.state == "pending":
            plan.pending += 1
        if changed:
            plan.writes.append(write)
        elif refreshed:
            plan.refresh.append(write)
    plan.firing = len(firing_now)
    if newly_notified:
        plan.notifications.append(
            notification(rule, "firing", newly_notified, now=now, public_url=public_url)
        )
    if resolved:
        plan.notifications.append(
            notification(rule, "resolved", resolved, now=now, public_url=public_url)
        )
    _repeat(rule, plan, firing_now, now, suppressed, repeat_interval, public_url)
    return plan


def _current(
    rule: PlannedRule, samples: Sequence[Sample] | None
) -> dict[str, tuple[dict[str, str], float | None, bool]] | None:
    """``{fingerprint: (labels, value, condition holds)}``; None: keep every state."""
    if samples is None:
        return None
    if not samples:
        if rule.no_data == "keep":
            return None
        if rule.no_data == "alerting":
            return {fingerprint({}): ({}, None, True)}
        return {}
    return {
        fingerprint(s.labels): (s.labels, s.value, holds(s.value, rule.comparison, rule.threshold))
        for s in samples
    }


def _transition(
    fp: str, labels: dict[str, str], change: tuple[str, str], state: SeriesState, now: datetime
) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "labels": labels,
        "from_state": change[0],
        "to_state": change[1],
        "value": state.value,
        "at": now,
    }


def _series(
    rule: PlannedRule, old: StoredSeries, write: SeriesWrite, now: datetime, *, ended: bool = False
) -> AlertSeries:
    state = old.state if ended else write.state
    starts = state.firing_since or state.active_since or now
    return alert_series(
        rule,
        write.labels,
        value=write.state.value,
        starts_at=starts,
        ends_at=now if ended else None,
    )


def _repeat(
    rule: PlannedRule,
    plan: RulePlan,
    firing: list[SeriesWrite],
    now: datetime,
    suppressed: Suppressed,
    repeat_interval: timedelta,
    public_url: str,
) -> None:
    """Add the reminder (when one is due) and the re-send group of the firing series."""
    notified = [
        write
        for write in firing
        if write.last_notified_at is not None and not suppressed(alert_labels(rule, write.labels))
    ]
    if not notified:
        return
    group = [
        alert_series(
            rule,
            w.labels,
            value=w.state.value,
            starts_at=w.state.firing_since or w.state.active_since or now,
        )
        for w in notified
    ]
    due = any(
        w.last_notified_at is not None and w.last_notified_at + repeat_interval <= now
        for w in notified
    )
    if due:
        plan.notifications.append(
            notification(rule, "firing", group, now=now, public_url=public_url, repeat=True)
        )
        written = {write.fingerprint for write in plan.writes}
        for write in notified:
            write.last_notified_at = now
            if write.fingerprint not in written:
                plan.writes.append(write)
    if any(n.status == "firing" for n in plan.notifications):
        return  # every channel gets this tick's firing notification already
    plan.resend = notification(
        rule,
        "firing",
        group,
        now=now,
        public_url=public_url,
        repeat=True,
        key=firing_group_key(rule.id),
    )
