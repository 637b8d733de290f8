"""The service state machine: thresholds, paused services, resume."""

from __future__ import annotations

from app.services.state import Health, apply_check, paused, resumed


def _run(health: Health, results: list[bool], *, failures: int = 3, successes: int = 1) -> Health:
    for ok in results:
        health = apply_check(
            health,
            ok=ok,
            detail="HTTP 503",
            failure_threshold=failures,
            success_threshold=successes,
        ).health
    return health


def test_pending_service_goes_up_after_one_good_check_by_default() -> None:
    step = apply_check(
        Health("pending", 0, 0), ok=True, detail="", failure_threshold=3, success_threshold=1
    )
    assert step.health == Health("up", 0, 1)
    assert step.reason == "1 successful check in a row"


def test_service_goes_down_only_after_the_failure_threshold() -> None:
    up = Health("up", 0, 5)
    two = _run(up, [False, False])
    assert two.state == "up"
    assert two.failures == 2
    step = apply_check(two, ok=False, detail="HTTP 503", failure_threshold=3, success_threshold=1)
    assert step.health == Health("down", 3, 0)
    assert step.reason == "3 failed checks in a row: HTTP 503"


def test_a_good_check_resets_the_failure_count() -> None:
    health = _run(Health("up", 0, 1), [False, False, True, False, False])
    assert health.state == "up"
    assert health.failures == 2


def test_success_threshold_needs_consecutive_good_checks() -> None:
    down = Health("down", 3, 0)
    assert _run(down, [True, True], successes=3).state == "down"
    assert _run(down, [True, True, False, True, True], successes=3).state == "down"
    assert _run(down, [True, True, True], successes=3).state == "up"


def test_pending_service_goes_down_after_failures_without_being_up_first() -> None:
    assert _run(Health("pending", 0, 0), [False, False, False]).state == "down"


def test_further_checks_in_the_same_state_change_nothing() -> None:
    step = apply_check(
        Health("down", 7, 0), ok=False, detail="x", failure_threshold=3, success_threshold=1
    )
    assert not step.changed
    assert step.health == Health("down", 8, 0)


def test_paused_service_ignores_results() -> None:
    health = Health("paused", 0, 0)
    step = apply_check(health, ok=False, detail="x", failure_threshold=1, success_threshold=1)
    assert step.health == health
    assert not step.changed


def test_pause_and_resume() -> None:
    step = paused(Health("down", 4, 0))
    assert step.health == Health("paused", 0, 0)
    assert step.reason == "paused: service disabled"
    again = resumed(step.health)
    assert again.health == Health("pending", 0, 0)
    assert again.reason == "resumed: service enabled"
    assert not paused(step.health).changed
    assert not resumed(Health("up", 0, 1)).changed
