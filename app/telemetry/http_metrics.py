"""HTTP request metrics kept as plain numbers, turned into Prometheus families when scraped.

prometheus_client's ``Counter.inc`` and ``Histogram.observe`` take a lock per value; the
four HTTP metrics cost seven of them per request (~10 µs on one core). Here a request
costs one dict lookup and a few integer additions, and the families below are built from
those numbers at scrape time:

* ``vigil_http_requests_total{route,method,status_class}``
* ``vigil_http_request_duration_seconds{route,method,status_class}`` (histogram)
* ``vigil_http_response_size_bytes{route,method}`` (histogram)
* ``vigil_http_requests_in_flight``

The numbers are updated without a lock, so record requests from one thread: an ASGI
server's event loop (every middleware call runs there). Scrapes may run anywhere.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = ["HttpMetrics"]

_STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


def _le_labels(bounds: Sequence[float]) -> tuple[str, ...]:
    """``le`` label values as prometheus_client writes them (``0.005``, ``1.0``, ``+Inf``)."""
    go_format: Callable[[float], str] = floatToGoString
    return tuple(go_format(bound) for bound in (*bounds, float("inf")))


class _Histogram:
    """Counts per bucket (``value <= bound``; the last one is +Inf) and the sum."""

    __slots__ = ("counts", "sum")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)
        self.sum = 0.0

    def family_buckets(self, les: Sequence[str]) -> list[tuple[str, float]]:
        """Cumulative counts per ``le`` label, as Prometheus histograms expose them."""
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for le, count in zip(les, self.counts, strict=True):
            cumulative += count
            buckets.append((le, cumulative))
        return buckets


class _Series:
    """One (route, method, status class): requests, their durations, the route's sizes."""

    __slots__ = ("durations", "requests", "sizes")

    def __init__(self, duration_buckets: int, sizes: _Histogram) -> None:
        self.requests = 0
        self.durations = _Histogram(duration_buckets)
        self.sizes = sizes


class HttpMetrics(Collector):
    """The HTTP metrics of one registry; :meth:`record` is called once per response."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        duration_buckets: Sequence[float],
        size_buckets: Sequence[float],
    ) -> None:
        self.duration_buckets = tuple(duration_buckets)
        self.size_buckets = tuple(size_buckets)
        self._duration_les = _le_labels(self.duration_buckets)
        self._size_les = _le_labels(self.size_buckets)
        self.in_flight = 0
        """Requests being served; the middleware adds and subtracts 1."""
        self._series: dict[tuple[str, str, int], _Series] = {}
        self._sizes: dict[tuple[str, str], _Histogram] = {}
        registry.register(self)

    def record(
        self,
        route: str,
        method: str,
        status: int,
        duration: float | None,
        size: int,
    ) -> None:
        """Count one response; ``duration`` None leaves it out of the latency histogram."""
        key = (route, method, status // 100)
        series = self._series.get(key)
        if series is None:
            series = self._new_series(route, method, key)
        series.requests += 1
        if duration is not None:
            durations = series.durations
            durations.counts[bisect_left(self.duration_buckets, duration)] += 1
            durations.sum += duration
        sizes = series.sizes
        sizes.counts[bisect_left(self.size_buckets, size)] += 1
        sizes.sum += size

    def _new_series(self, route: str, method: str, key: tuple[str, str, int]) -> _Series:
        sizes = self._sizes.get((route, method))
        if sizes is None:
            sizes = self._sizes[(route, method)] = _Histogram(len(self.size_buckets))
        series = self._series[key] = _Series(len(self.duration_buckets), sizes)
        return series

    def describe(self) -> Iterable[Metric]:
        return self._families(())

    def collect(self) -> Iterable[Metric]:
        return self._families(list(self._series.items()))

    def _families(self, series: Sequence[tuple[tuple[str, str, int], _Series]]) -> list[Metric]:
        requests = CounterMetricFamily(
            "vigil_http_requests",
            "HTTP requests served, by route template, method and status class.",
            labels=("route", "method", "status_class"),
        )
        durations = HistogramMetricFamily(
            "vigil_http_request_duration_seconds",
            "Time from receiving a request to the end of its response.",
            labels=("route", "method", "status_class"),
        )
        sizes = HistogramMetricFamily(
            "vigil_http_response_size_bytes",
            "Response body size.",
            labels=("route", "method"),
        )
        for (route, method, status_class), one in series:
            labels = [route, method, _STATUS_CLASSES.get(status_class, "other")]
            requests.add_metric(labels, one.requests)
            timed = one.durations
            durations.add_metric(
                labels, timed.family_buckets(self._duration_les), sum_value=timed.sum
            )
        for (route, method), histogram in list(self._sizes.items()):
            sizes.add_metric(
                [route, method],
                histogram.family_buckets(self._size_les),
                sum_value=histogram.sum,
            )
        in_flight = GaugeMetricFamily(
            "vigil_http_requests_in_flight", "HTTP requests being served right now."
        )
        in_flight.add_metric([], self.in_flight)
        return [requests, durations, sizes, in_flight]
