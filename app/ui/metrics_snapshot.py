"""Read a :class:`~app.ui.self_health.Snapshot` from Vigil's own metrics registry.

Reads the collectors' public ``collect()`` output (what ``/metrics`` serves), so it sees the
same numbers Prometheus would scrape; a snapshot of a few dozen routes takes well under a
millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

from app.telemetry.metrics import VigilMetrics
from app.ui.self_health import SeriesCounts, SeriesKey, Snapshot, StreamCounts

_REQUESTS = "vigil_http_requests_total"
_BUCKET = "vigil_http_request_duration_seconds_bucket"
_IN_FLIGHT = "vigil_http_requests_in_flight"


def take_snapshot(metrics: VigilMetrics, *, at: float) -> Snapshot:
    """The HTTP and SSE counters of ``metrics`` now; ``at`` is the caller's monotonic time."""
    bounds = metrics.http.duration_buckets
    requests: dict[SeriesKey, float] = {}
    buckets: dict[SeriesKey, list[float]] = {}
    in_flight = 0.0
    for sample in _samples(metrics.http.collect()):
        name, labels, value = sample.name, sample.labels, float(sample.value)
        if name == _IN_FLIGHT:
            in_flight = value
            continue
        if name not in (_REQUESTS, _BUCKET):
            continue
        key = (labels["route"], labels["method"], labels["status_class"])
        if name == _REQUESTS:
            requests[key] = value
        else:
            buckets.setdefault(key, []).append(value)  # collect() lists them by bound
    empty = (0.0,) * (len(bounds) + 1)
    http = {
        key: SeriesCounts(requests=count, buckets=tuple(buckets.get(key, empty)))
        for key, count in requests.items()
    }
    return Snapshot(at=at, bounds=bounds, http=http, in_flight=in_flight, streams=_streams(metrics))


def _samples(families: Iterable[Metric]) -> Iterable[Sample]:
    for family in families:
        yield from family.samples


def _streams(metrics: VigilMetrics) -> dict[str, StreamCounts]:
    active: dict[str, float] = {}
    messages: dict[str, dict[str, float]] = {}
    disconnects: dict[str, dict[str, float]] = {}
    for family in metrics.sse_connections_active.collect():
        for sample in family.samples:
            active[sample.labels["stream"]] = float(sample.value)
    for family in metrics.sse_messages.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                by_status = messages.setdefault(sample.labels["stream"], {})
                by_status[sample.labels["status"]] = float(sample.value)
    for family in metrics.sse_disconnects.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                by_reason = disconnects.setdefault(sample.labels["stream"], {})
                by_reason[sample.labels["reason"]] = float(sample.value)
    names = set(active) | set(messages) | set(disconnects)
    return {
        name: StreamCounts(
            active=active.get(name, 0.0),
            messages=messages.get(name, {}),
            disconnects=disconnects.get(name, {}),
        )
        for name in names
    }
