"""Histogram buckets: p75 within 5 % of the exact value on known distributions."""

from __future__ import annotations

import math
import random

import pytest

from app.rum.histogram import BUCKETS, METRICS, bucket_bounds, bucket_index, quantile, rate


def exact_p75(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.75 * len(ordered)) - 1]


def counts_of(metric: str, values: list[float]) -> list[int]:
    counts = [0] * BUCKETS
    for value in values:
        counts[bucket_index(metric, value)] += 1
    return counts


DISTRIBUTIONS = {
    "lognormal LCP": ("LCP", lambda r: r.lognormvariate(math.log(2200), 0.6)),
    "uniform INP": ("INP", lambda r: r.uniform(16, 900)),
    "exponential TTFB": ("TTFB", lambda r: 20 + r.expovariate(1 / 400)),
    "bimodal FCP": ("FCP", lambda r: r.gauss(600, 80) if r.random() < 0.6 else r.gauss(3200, 400)),
    "CLS mostly small": ("CLS", lambda r: r.expovariate(1 / 0.08) + 0.001),
    "a single value": ("LCP", lambda r: 1234.0),
}


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_p75_is_within_five_percent_of_the_exact_value(name: str) -> None:
    metric, draw = DISTRIBUTIONS[name]
    rng = random.Random(name)
    values = [max(draw(rng), 0.002) for _ in range(20_000)]
    estimate = quantile(metric, counts_of(metric, values))
    exact = exact_p75(values)
    assert estimate is not None
    assert abs(estimate - exact) / exact <= 0.05, (estimate, exact)


@pytest.mark.parametrize("metric", METRICS)
def test_every_value_lands_in_a_bucket_that_contains_it(metric: str) -> None:
    for value in [0.0, 0.0005, 0.001, 1, 3.99, 4, 4.4, 100, 2500, 2500.1, 49_000]:
        lower, upper = bucket_bounds(metric, bucket_index(metric, value))
        assert lower <= value < upper or bucket_index(metric, value) == BUCKETS - 1


def test_huge_values_go_to_the_open_last_bucket() -> None:
    assert bucket_index("LCP", 10**9) == BUCKETS - 1
    assert bucket_bounds("LCP", BUCKETS - 1)[1] == math.inf


def test_no_samples_has_no_quantile() -> None:
    assert quantile("LCP", [0] * BUCKETS) is None


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("LCP", 2500, "good"),
        ("LCP", 2501, "needs-improvement"),
        ("LCP", 4000, "needs-improvement"),
        ("LCP", 4001, "poor"),
        ("CLS", 0.1, "good"),
        ("CLS", 0.26, "poor"),
        ("INP", 200, "good"),
        ("INP", 501, "poor"),
        ("TTFB", 1800, "needs-improvement"),
        ("FCP", 3001, "poor"),
    ],
)
def test_ratings_follow_the_web_vitals_thresholds(metric: str, value: float, expected: str) -> None:
    assert rate(metric, value) == expected
