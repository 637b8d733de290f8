"""The service state machine: pure values in, values out, no I/O.

``pending`` (new or resumed) → ``up`` after ``success_threshold`` good checks in a row,
→ ``down`` after ``failure_threshold`` failed checks in a row; ``up`` and ``down`` move to
each other the same way. ``paused`` (disabled by an admin) ignores check results; resuming
starts again at ``pending`` with the counters at zero.

    >>> health = Health("pending", failures=0, successes=0)
    >>> step = apply_check(health, ok=True, detail="", failure_threshold=3, success_threshold=1)
    >>> step.health.state, step.reason
    ('up', '1 successful check in a row')
"""

from __future__ import annotations

from dataclasses import dataclass

from app.services.models import ServiceState


@dataclass(frozen=True, slots=True)
class Health:
    """A service's state and its counts of consecutive failed / good checks."""

    state: ServiceState
    failures: int
    successes: int


@dataclass(frozen=True, slots=True)
class Step:
    """The health after one check; ``reason`` is set when the state changed."""

    health: Health
    reason: str | None = None

    @property
    def changed(self) -> bool:
        return self.reason is not None


def apply_check(
    health: Health, *, ok: bool, detail: str, failure_threshold: int, success_threshold: int
) -> Step:
    """Count one check result and change state when a threshold is reached.

    ``detail`` explains a failure and ends up in the reason of a move to ``down``.
    """
    if health.state == "paused":
        return Step(health)
    if ok:
        successes = health.successes + 1
        if health.state != "up" and successes >= success_threshold:
            return Step(Health("up", 0, successes), f"{_times(successes, 'successful')} in a row")
        return Step(Health(health.state, 0, successes))
    failures = health.failures + 1
    if health.state != "down" and failures >= failure_threshold:
        reason = f"{_times(failures, 'failed')} in a row" + (f": {detail}" if detail else "")
        return Step(Health("down", failures, 0), reason)
    return Step(Health(health.state, failures, 0))


def paused(health: Health) -> Step:
    """The health of a service an admin disabled."""
    if health.state == "paused":
        return Step(health)
    return Step(Health("paused", 0, 0), "paused: service disabled")


def resumed(health: Health) -> Step:
    """The health of a service enabled again: ``pending`` until its checks decide."""
    if health.state != "paused":
        return Step(health)
    return Step(Health("pending", 0, 0), "resumed: service enabled")


def _times(count: int, what: str) -> str:
    return f"{count} {what} check{'' if count == 1 else 's'}"
