"""Pure logic of the Web Vitals page queries: sums, shares, trend gaps, page ranking."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from app.rum.histogram import BUCKETS, METRICS, bucket_index, quantile
from app.rum.queries import (
    Totals,
    p75_of,
    page_rows,
    page_views,
    rank_pages,
    summarize,
    trend,
)


def counters(metric: str, values: list[float], good: int, ni: int, poor: int) -> list[float]:
    buckets = [0] * BUCKETS
    for value in values:
        buckets[bucket_index(metric, value)] += 1
    return [len(values), good, ni, poor, sum(values), *buckets]


def test_totals_add_rows_and_treat_missing_sums_as_zero() -> None:
    totals = Totals()
    totals.add(counters("LCP", [1000.0, 3000.0], 1, 1, 0))
    totals.add(counters("LCP", [5000.0], 0, 0, 1))
    totals.add([None] * (5 + BUCKETS))
    assert (totals.n, totals.good, totals.ni, totals.poor) == (3, 1, 1, 1)
    assert totals.value_sum == 9000.0
    assert sum(totals.buckets) == 3


def test_summarize_gives_p75_rating_and_shares() -> None:
    totals = Totals()
    totals.add(counters("LCP", [1000.0, 1000.0, 3000.0, 5000.0], 2, 1, 1))
    card = summarize("LCP", totals)
    assert card.n == 4
    assert card.p75 == pytest.approx(3000.0, rel=0.05)
    assert card.rating == "needs-improvement"
    assert (card.good, card.ni, card.poor) == (0.5, 0.25, 0.25)


def test_summarize_without_samples_has_no_p75_and_zero_shares() -> None:
    card = summarize("CLS", Totals())
    assert (card.n, card.p75, card.rating, card.good, card.ni, card.poor) == (
        0,
        None,
        None,
        0.0,
        0.0,
        0.0,
    )


def test_trend_has_a_gap_on_days_without_samples() -> None:
    day = date(2026, 11, 20)
    totals = Totals()
    totals.add(counters("INP", [100.0], 1, 0, 0))
    points = trend("INP", [day - timedelta(days=1), day], {("INP", day): totals}).points
    assert [(p.n, p.p75 is None) for p in points] == [(0, True), (1, False)]


def row(page: str, metric: str, value: float | None) -> list[object]:
    values = [] if value is None else [value]
    return [page, metric, *counters(metric, values, len(values), 0, 0)]


def test_page_views_are_the_most_samples_of_any_metric() -> None:
    views = page_views([("/a", "LCP", 3), ("/a", "TTFB", 5), ("/b", "LCP", 0)])
    assert views == {"/a": 5}


def test_rank_pages_by_views_then_path() -> None:
    assert rank_pages({"/b": 2, "/a": 2, "/c": 9}, sort="views") == ["/c", "/a", "/b"]


def test_rank_pages_by_metric_worst_first_and_pages_without_it_last() -> None:
    views = {"/fast": 10, "/slow": 1, "/none": 50, "/mid": 3}
    p75 = {"/fast": 900.0, "/slow": 5000.0, "/mid": 2600.0, "/none": None}
    assert rank_pages(views, sort="LCP", p75=p75) == ["/slow", "/mid", "/fast", "/none"]


def test_page_rows_keep_the_given_order_and_fill_missing_metrics() -> None:
    rows = [row("/a", "LCP", 1000.0), row("/b", "LCP", 5000.0), row("/b", "CLS", 0.3)]
    table = page_rows(["/b", "/a"], views={"/a": 1, "/b": 1}, rows=rows)
    assert [r.page for r in table] == ["/b", "/a"]
    assert list(table[0].metrics) == ["LCP", "INP", "CLS", "FCP", "TTFB"]
    assert table[0].metrics["LCP"].rating == "poor"
    assert table[0].metrics["CLS"].rating == "poor"
    assert table[1].metrics["INP"].n == 0
    assert table[1].metrics["INP"].p75 is None


def test_fast_p75_equals_histogram_quantile() -> None:
    rng = random.Random(3)
    for metric in METRICS:
        for _ in range(300):
            counts = [rng.choice([0, 0, 0, 1, 2, 7]) for _ in range(BUCKETS)]
            assert p75_of(metric, counts) == quantile(metric, counts)
        assert p75_of(metric, [0] * BUCKETS) is None
        last = [0] * (BUCKETS - 1) + [4]
        assert p75_of(metric, last) == quantile(metric, last)
