"""The self-health arithmetic: histogram quantiles, counter increases, rates and ratios."""

from __future__ import annotations

import math

import pytest

from app.telemetry.metrics import HTTP_DURATION_BUCKETS, VigilMetrics
from app.ui.metrics_snapshot import take_snapshot
from app.ui.self_health import (
    SeriesCounts,
    Snapshot,
    SnapshotRing,
    StreamCounts,
    active_streams,
    figures,
    http_window,
    increase,
    quantile,
    quantile_points,
    rate_points,
    route_figures,
    stream_figures,
)

BOUNDS = (0.1, 0.2, 0.4)


def test_quantile_interpolates_inside_the_bucket_like_promql() -> None:
    # 10 requests <= 0.1 s, 10 more in (0.1, 0.2]: the median is the end of the first bucket,
    # p75 is halfway through the second one.
    cumulative = (10, 20, 20, 20)
    assert quantile(0.5, BOUNDS, cumulative) == pytest.approx(0.1)
    assert quantile(0.75, BOUNDS, cumulative) == pytest.approx(0.15)
    assert quantile(0.25, BOUNDS, cumulative) == pytest.approx(0.05)


def test_quantile_skips_empty_buckets_and_caps_at_the_highest_bound() -> None:
    assert quantile(0.5, BOUNDS, (0, 0, 4, 4)) == pytest.approx(0.3)
    assert quantile(0.99, BOUNDS, (1, 1, 1, 100)) == pytest.approx(0.4)  # +Inf bucket


def test_quantile_of_an_empty_histogram_is_unknown() -> None:
    assert quantile(0.95, BOUNDS, (0, 0, 0, 0)) is None


@pytest.mark.parametrize("q", [-0.1, 1.5])
def test_quantile_refuses_a_q_outside_zero_to_one(q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile(q, BOUNDS, (1, 1, 1, 1))


def test_quantile_needs_one_count_per_bound_plus_inf() -> None:
    with pytest.raises(ValueError, match="plus \\+Inf"):
        quantile(0.5, BOUNDS, (1, 1, 1))


def test_a_counter_that_went_down_was_reset() -> None:
    assert increase(15, 10) == 5
    assert increase(3, 10) == 3


def _snap(at: float, **series: tuple[float, tuple[float, ...]]) -> Snapshot:
    http = {}
    for name, (requests, buckets) in series.items():
        route, status = name.rsplit("_", 1)
        http[(f"/{route}", "GET", status)] = SeriesCounts(requests, buckets)
    return Snapshot(at=at, bounds=BOUNDS, http=http)


def test_window_rate_error_ratio_and_p95_over_two_snapshots() -> None:
    older = _snap(0, a_2xx=(100, (50, 100, 100, 100)), a_5xx=(0, (0, 0, 0, 0)))
    newer = _snap(
        10,
        a_2xx=(190, (50, 140, 190, 190)),  # 90 more, all in (0.1, 0.4]
        a_5xx=(10, (0, 0, 10, 10)),  # 10 errors in (0.2, 0.4]
        b_2xx=(5, (5, 5, 5, 5)),  # a new series: all of it is in the window
    )

    window = http_window(newer, older)
    result = figures(window, BOUNDS, seconds=10)

    assert result.requests == 105
    assert result.rate == pytest.approx(10.5)
    assert result.error_ratio == pytest.approx(10 / 105)
    # cumulative over the window: (5, 45, 105, 105); rank 99.75 is in (0.2, 0.4]
    assert result.p95 == pytest.approx(0.2 + 0.2 * (99.75 - 45) / 60)


def test_series_without_requests_in_the_window_are_left_out() -> None:
    older = _snap(0, a_2xx=(7, (7, 7, 7, 7)))
    newer = _snap(5, a_2xx=(7, (7, 7, 7, 7)))
    assert http_window(newer, older) == {}
    assert figures({}, BOUNDS, seconds=5).error_ratio is None
    assert figures({}, BOUNDS, seconds=5).rate == 0


def test_a_reset_series_counts_from_zero() -> None:
    older = _snap(0, a_2xx=(100, (100, 100, 100, 100)))
    newer = _snap(5, a_2xx=(4, (4, 4, 4, 4)))  # the process restarted in between
    assert http_window(newer, older)[("/a", "GET", "2xx")].requests == 4


def test_route_figures_group_status_classes_busiest_first() -> None:
    older = _snap(0)
    newer = _snap(2, a_2xx=(2, (2, 2, 2, 2)), a_5xx=(2, (0, 2, 2, 2)), b_2xx=(10, (10, 10, 10, 10)))
    rows = route_figures(http_window(newer, older), BOUNDS, seconds=2)
    assert [(r.route, r.figures.requests) for r in rows] == [("/b", 10), ("/a", 4)]
    assert rows[1].figures.error_ratio == pytest.approx(0.5)
    assert rows[1].figures.rate == pytest.approx(2)


def test_rate_and_quantile_points_per_interval() -> None:
    snapshots = [
        _snap(0, a_2xx=(0, (0, 0, 0, 0))),
        _snap(5, a_2xx=(10, (10, 10, 10, 10))),
        _snap(10, a_2xx=(10, (10, 10, 10, 10))),
    ]
    assert rate_points(snapshots) == [(5, 2.0), (10, 0.0)]
    points = quantile_points(snapshots, 0.5)
    assert points[0] == (5, pytest.approx(0.05))
    assert points[1] == (10, None)


def test_ring_keeps_the_latest_and_windows_need_two_snapshots() -> None:
    ring = SnapshotRing(capacity=3)
    assert ring.window(60) is None
    assert ring.latest() is None
    for at in (0, 5, 10, 15):
        ring.add(_snap(at))
    assert len(ring) == 3
    assert [s.at for s in ring.since(6)] == [10, 15]
    pair = ring.window(60)
    assert pair is not None
    assert (pair[0].at, pair[1].at) == (5, 15)
    assert ring.window(1) is None


def test_stream_figures_count_messages_and_closes_in_the_window() -> None:
    older = Snapshot(
        at=0,
        bounds=BOUNDS,
        http={},
        streams={"dashboard": StreamCounts(1, {"ok": 10}, {"client_closed": 1})},
    )
    newer = Snapshot(
        at=5,
        bounds=BOUNDS,
        http={},
        streams={
            "dashboard": StreamCounts(
                2, {"ok": 25, "write_error": 5}, {"client_closed": 3, "write_error": 1}
            )
        },
    )
    (row,) = stream_figures(newer, older)
    assert row.active == 2
    assert row.messages == {"ok": 15, "write_error": 5}
    assert row.disconnects == {"client_closed": 2, "write_error": 1}
    assert row.write_error_ratio == pytest.approx(0.25)
    assert active_streams(newer) == 2
    assert active_streams(None) == 0


def test_snapshot_reads_vigils_own_registry() -> None:
    metrics = VigilMetrics()
    for duration in (0.003, 0.02, 0.02, 0.3):
        metrics.http.record("/x", "GET", 200, duration, 100)
    metrics.http.record("/x", "GET", 503, 0.002, 10)
    metrics.http.record("/ui/events", "GET", 200, None, 10)  # an SSE stream: not timed
    metrics.http.in_flight = 2
    metrics.sse_connections_active.labels("dashboard").inc()
    metrics.sse_messages.labels("dashboard", "ok").inc(3)
    metrics.sse_disconnects.labels("dashboard", "client_closed").inc()

    snapshot = take_snapshot(metrics, at=1.0)

    assert snapshot.bounds == HTTP_DURATION_BUCKETS
    ok = snapshot.http[("/x", "GET", "2xx")]
    assert ok.requests == 4
    assert ok.buckets[0] == 1
    assert ok.buckets[2] == 3
    assert ok.buckets[-1] == 4
    assert snapshot.http[("/x", "GET", "5xx")].requests == 1
    assert snapshot.http[("/ui/events", "GET", "2xx")].buckets[-1] == 0
    assert snapshot.in_flight == 2
    assert snapshot.streams["dashboard"] == StreamCounts(1, {"ok": 3}, {"client_closed": 1})

    empty = take_snapshot(VigilMetrics(), at=0.0)
    result = figures(http_window(snapshot, empty), snapshot.bounds, seconds=1)
    assert result.requests == 6
    assert result.error_ratio == pytest.approx(1 / 6)
    assert result.p50 is not None
    assert 0.01 < result.p50 <= 0.025
    assert not math.isnan(result.p95 or 0)
