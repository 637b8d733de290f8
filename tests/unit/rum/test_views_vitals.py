"""Web Vitals view models: values in words and units, rating splits, the trend chart's geometry."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.rum.queries import MetricSummary, MetricTrend, SiteSummary, TrendPoint
from app.rum.views import (
    NO_VALUE,
    format_value,
    metric_cards,
    period_text,
    sort_links,
    threshold_text,
    trend_chart,
)

DAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("LCP", 180.4, "180\u00a0ms"),
        ("LCP", 2312.5, "2.31\u00a0s"),
        ("INP", 999.4, "999\u00a0ms"),
        ("CLS", 0.1134, "0.11"),
        ("TTFB", None, NO_VALUE),
    ],
)
def test_values_are_shown_with_their_unit(metric: str, value: float | None, text: str) -> None:
    assert format_value(metric, value) == text


def test_thresholds_are_spelled_out() -> None:
    assert threshold_text("LCP") == "good ≤ 2.50\u00a0s, poor > 4.00\u00a0s"
    assert threshold_text("CLS") == "good ≤ 0.10, poor > 0.25"


def _summary(**lcp: object) -> SiteSummary:
    empty = {"n": 0, "p75": None, "rating": None, "good": 0.0, "ni": 0.0, "poor": 0.0}
    metrics = [
        MetricSummary(metric=m, **(lcp if m == "LCP" else empty))  # type: ignore[arg-type]
        for m in ("LCP", "INP", "CLS", "FCP", "TTFB")
    ]
    return SiteSummary(
        site_id=1, range_days=7, device="all", first_day=DAY, last_day=DAY, metrics=metrics
    )


def test_a_card_gives_the_rating_in_words_and_the_split_in_percent() -> None:
    summary = _summary(n=8, p75=4200.0, rating="poor", good=0.5, ni=0.125, poor=0.375)

    lcp, inp, *_ = metric_cards(summary)

    assert (lcp.p75.text, lcp.p75.label, lcp.p75.symbol) == ("4.20\u00a0s", "Poor", "✕")
    assert lcp.split is not None
    assert (lcp.split.good, lcp.split.ni_x, lcp.split.poor_x) == (50.0, 50.0, 62.5)
    assert (lcp.split.good_text, lcp.split.ni_text, lcp.split.poor_text) == ("50 %", "12 %", "38 %")
    assert (inp.p75.text, inp.p75.label, inp.split) == (NO_VALUE, "No data", None)


def test_the_trend_line_breaks_on_days_without_samples() -> None:
    points = [
        TrendPoint(day=DAY - timedelta(days=3 - i), n=n, p75=p)
        for i, (n, p) in enumerate([(5, 1000.0), (0, None), (3, 3000.0), (4, 5000.0)])
    ]

    chart = trend_chart(MetricTrend(metric="LCP", points=points))

    assert len(chart.segments) == 2
    assert len(chart.dots) == 3
    assert [d.rating for d in chart.dots] == ["good", "needs-improvement", "poor"]
    assert chart.dots[0].x == chart.plot_left
    assert chart.dots[-1].x == chart.plot_right
    ys = [d.y for d in chart.dots]
    assert ys == sorted(ys, reverse=True)  # higher p75 is drawn higher up
    assert all(chart.plot_top <= y <= chart.plot_bottom for y in ys)
    assert [t.kind for t in chart.thresholds] == ["good", "poor"]
    assert "latest 5.00\u00a0s on 2026-11-23" in chart.description


def test_a_trend_without_samples_says_so() -> None:
    chart = trend_chart(MetricTrend(metric="CLS", points=[TrendPoint(day=DAY, n=0, p75=None)] * 7))

    assert not chart.has_data
    assert chart.segments == []
    assert "no samples" in chart.description


def test_sort_links_keep_the_filters_and_mark_the_current_column() -> None:
    links = sort_links(query={"site": "3", "range": "7", "device": "mobile"}, current="LCP")

    lcp = next(link for link in links if link.key == "LCP")
    assert lcp.href == "/vitals?site=3&range=7&device=mobile&sort=LCP#pages"
    assert lcp.aria_sort == "descending"
    assert [link.key for link in links if link.current] == ["LCP"]


def test_the_period_is_written_in_utc_days() -> None:
    assert period_text(DAY, DAY) == "Nov 23, 2026 (UTC)"
    assert period_text(DAY - timedelta(days=6), DAY) == "Nov 17 \u2013 Nov 23, 2026 (UTC)"
