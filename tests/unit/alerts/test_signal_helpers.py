"""The pure parts of the signals: percentiles, aggregations, selectors, Prometheus results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.signals import ParamsError, SignalContext, SignalError
from app.alerts.signals.promql import samples_from_result
from app.alerts.signals.scraped_metric import aggregate, parse_selector
from app.alerts.signals.service_latency_p95 import p95
from app.alerts.signals.task_overdue import seconds_late
from app.alerts.signals.tasks import TaskRow

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_p95_is_nearest_rank() -> None:
    assert p95([float(v) for v in range(1, 101)]) == 95.0
    assert p95([7.0]) == 7.0
    assert p95([3.0, 1.0, 2.0]) == 3.0


@pytest.mark.parametrize(
    ("how", "expected"), [("sum", 6.0), ("avg", 2.0), ("min", 1.0), ("max", 3.0), ("count", 3.0)]
)
def test_aggregations(how: str, expected: float) -> None:
    assert aggregate([1.0, 2.0, 3.0], how) == expected  # type: ignore[arg-type]


def test_selector_with_every_operator_and_escaped_quotes() -> None:
    name, matchers = parse_selector(
        'http_requests_total{code=~"5..", path!="/health", m="a\\"b", x!~"y.*"}'
    )
    assert name == "http_requests_total"
    assert [str(m) for m in matchers] == [
        'code=~"5.."',
        'path!="/health"',
        'm="a\\"b"',
        'x!~"y.*"',
    ]
    assert parse_selector("up") == ("up", ())


@pytest.mark.parametrize("selector", ["", "up{", 'up{a="b"', "up{a=b}", '{a="b"}', 'up{1a="b"}'])
def test_bad_selectors(selector: str) -> None:
    with pytest.raises(ParamsError):
        parse_selector(selector)


def test_prometheus_vector_and_scalar_results() -> None:
    vector = {
        "resultType": "vector",
        "result": [{"metric": {"__name__": "up", "job": "a"}, "value": [1.0, "1"]}],
    }
    [sample] = samples_from_result(vector)
    assert (sample.labels, sample.value) == ({"job": "a"}, 1.0)
    [scalar] = samples_from_result({"resultType": "scalar", "result": [1.0, "0.25"]})
    assert (scalar.labels, scalar.value) == ({}, 0.25)
    with pytest.raises(SignalError, match="matrix"):
        samples_from_result({"resultType": "matrix", "result": []})
    with pytest.raises(SignalError, match="unexpected"):
        samples_from_result({"resultType": "vector", "result": [{"metric": {}}]})


def test_seconds_late() -> None:
    ctx = SignalContext(now=NOW)
    late = NOW - timedelta(minutes=2)
    assert seconds_late(TaskRow(1, "api", "t", "overdue", late), ctx) == 120.0
    assert seconds_late(TaskRow(1, "api", "t", "overdue", None), ctx) == 1.0
    assert seconds_late(TaskRow(1, "api", "t", "up", late), ctx) == 120.0  # job not run yet
    assert seconds_late(TaskRow(1, "api", "t", "up", NOW + timedelta(minutes=1)), ctx) == 0.0
    assert seconds_late(TaskRow(1, "api", "t", "running", late), ctx) == 0.0
