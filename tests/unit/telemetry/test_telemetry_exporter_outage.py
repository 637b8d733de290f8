"""While the trace collector is down, batches are dropped unencoded and retried sparingly."""

from __future__ import annotations

import time
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from app.telemetry.tracing import OnceWarningExporter


class FlakyCollector(SpanExporter):
    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        return SpanExportResult.SUCCESS if self.up else SpanExportResult.FAILURE


def test_batches_during_an_outage_never_reach_the_exporter_until_the_retry_time() -> None:
    collector = FlakyCollector()
    exporter = OnceWarningExporter(collector, endpoint="http://x", retry_seconds=3600)
    for _ in range(5):
        assert exporter.export([]) is SpanExportResult.FAILURE
    assert collector.calls == 1
    assert exporter.dropped_batches == 4


def test_export_resumes_once_the_collector_is_back() -> None:
    collector = FlakyCollector()
    exporter = OnceWarningExporter(collector, endpoint="http://x", retry_seconds=0)
    assert exporter.export([]) is SpanExportResult.FAILURE
    collector.up = True
    assert exporter.export([]) is SpanExportResult.SUCCESS
    assert not exporter.failing
    assert collector.calls == 2


def test_new_traces_are_refused_during_an_outage_but_for_one_probe_per_interval() -> None:
    collector = FlakyCollector()
    exporter = OnceWarningExporter(collector, endpoint="http://x", retry_seconds=3600)
    assert exporter.admits_new_traces()
    exporter.export([])
    assert not exporter.admits_new_traces()

    exporter = OnceWarningExporter(collector, endpoint="http://x", retry_seconds=0.05)
    exporter.export([])
    assert not exporter.admits_new_traces()
    time.sleep(0.06)
    assert exporter.admits_new_traces()  # the probe
    assert not exporter.admits_new_traces()
