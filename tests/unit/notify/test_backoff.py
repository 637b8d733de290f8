"""Retry waits: exponential, spread by jitter, never above the cap."""

from __future__ import annotations

import pytest

from app.notify.backoff import JITTER, retry_delay_seconds


@pytest.mark.parametrize(("attempts", "expected"), [(1, 10), (2, 20), (3, 40), (6, 320)])
def test_wait_doubles_after_each_failure(attempts: int, expected: float) -> None:
    assert retry_delay_seconds(attempts, base=10, cap=3600, jitter=0.5) == pytest.approx(expected)


def test_jitter_spreads_the_wait_both_ways() -> None:
    low = retry_delay_seconds(3, base=10, cap=3600, jitter=0.0)
    high = retry_delay_seconds(3, base=10, cap=3600, jitter=0.999999)
    assert low == pytest.approx(40 * (1 - JITTER))
    assert high == pytest.approx(40 * (1 + JITTER), rel=1e-5)


def test_wait_never_exceeds_the_cap_even_after_many_failures() -> None:
    for attempts in (12, 100, 10_000):
        for jitter in (0.0, 0.5, 0.99):
            assert retry_delay_seconds(attempts, base=10, cap=3600, jitter=jitter) <= 3600
    assert retry_delay_seconds(100, base=10, cap=3600, jitter=0.5) == 3600
