"""The series state machine with a controlled clock: for, keep_firing_for, flapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.states import INACTIVE, SeriesState, Step, fingerprint, holds, step

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def run(conditions: list[bool], *, for_s: int = 0, keep_s: int = 0, every: int = 30) -> list[Step]:
    """Feed one condition per evaluation, ``every`` seconds apart."""
    state, steps = INACTIVE, []
    for index, condition in enumerate(conditions):
        result = step(
            state,
            condition=condition,
            value=float(index),
            now=T0 + timedelta(seconds=every * index),
            for_seconds=for_s,
            keep_firing_for_seconds=keep_s,
        )
        steps.append(result)
        state = result.state
    return steps


def states(steps: list[Step]) -> list[str]:
    return [s.state.state for s in steps]


def transitions(steps: list[Step]) -> list[tuple[str, str] | None]:
    return [s.transition for s in steps]


def test_without_for_a_holding_condition_fires_at_once_and_resolves_when_it_stops() -> None:
    steps = run([True, True, False, False])
    assert states(steps) == ["firing", "firing", "inactive", "inactive"]
    assert transitions(steps) == [("inactive", "firing"), None, ("firing", "resolved"), None]
    assert steps[0].state.firing_since == T0


def test_series_stays_pending_until_the_condition_held_for_the_whole_for_duration() -> None:
    steps = run([True, True, True, True, True], for_s=120)
    assert states(steps) == ["pending", "pending", "pending", "pending", "firing"]
    assert transitions(steps)[0] == ("inactive", "pending")
    assert transitions(steps)[4] == ("pending", "firing")
    firing = steps[4].state
    assert firing.active_since == T0
    assert firing.firing_since == T0 + timedelta(seconds=120)


def test_pending_series_that_stops_holding_goes_back_to_inactive_and_starts_over() -> None:
    steps = run([True, True, False, True, True, True, True, True], for_s=120)
    assert states(steps) == ["pending", "pending", "inactive", *["pending"] * 4, "firing"]
    assert transitions(steps)[2] == ("pending", "inactive")
    # the for duration counts again from the new start (index 3 -> fires at index 7)
    assert steps[7].state.active_since == T0 + timedelta(seconds=90)


def test_keep_firing_for_holds_a_firing_series_through_short_gaps() -> None:
    steps = run([True, False, False, True, False, False, False], keep_s=90)
    # counted from the last evaluation in which the condition held (0 s, then 90 s)
    assert states(steps) == ["firing"] * 6 + ["inactive"]
    assert transitions(steps).count(("firing", "resolved")) == 1
    assert transitions(steps)[-1] == ("firing", "resolved")
    assert steps[-1].state == SeriesState("inactive", 6.0)


def test_keep_firing_for_does_not_delay_pending_series() -> None:
    steps = run([True, False], for_s=60, keep_s=600)
    assert states(steps) == ["pending", "inactive"]


def test_flapping_condition_without_keep_firing_for_fires_and_resolves_each_time() -> None:
    steps = run([True, False, True, False])
    assert transitions(steps) == [
        ("inactive", "firing"),
        ("firing", "resolved"),
        ("inactive", "firing"),
        ("firing", "resolved"),
    ]


def test_flapping_faster_than_for_never_fires() -> None:
    steps = run([True, False] * 5, for_s=60)
    assert "firing" not in states(steps)


def test_absent_value_keeps_the_last_known_value() -> None:
    firing = SeriesState("firing", 7.0, T0, T0, T0)
    result = step(
        firing, condition=True, value=None, now=T0, for_seconds=0, keep_firing_for_seconds=0
    )
    assert result.state.value == 7.0


@pytest.mark.parametrize(
    ("value", "comparison", "threshold", "expected"),
    [
        (5, ">", 4, True),
        (4, ">", 4, False),
        (4, ">=", 4, True),
        (3, "<", 4, True),
        (4, "<=", 4, True),
        (4, "==", 4, True),
        (4, "!=", 4, False),
        (float("nan"), "!=", 4, False),
    ],
)
def test_holds_compares_value_with_threshold(
    value: float, comparison: str, threshold: float, expected: bool
) -> None:
    assert holds(value, comparison, threshold) is expected


def test_fingerprint_ignores_label_order_and_differs_by_value() -> None:
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1"}) != fingerprint({"a": "2"})
    assert len(fingerprint({})) == 16
