"""Background job wrapper: statuses, duration, active gauge, on_finish hook, span."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from app.telemetry.metrics import VigilMetrics
from app.telemetry.tasks import TaskRun, instrumented_task, track_task


def runs(metrics: VigilMetrics, task: str, status: str) -> float:
    return (
        metrics.registry.get_sample_value("vigil_task_runs_total", {"task": task, "status": status})
        or 0.0
    )


def active(metrics: VigilMetrics, task: str) -> float:
    return metrics.registry.get_sample_value("vigil_tasks_active", {"task": task}) or 0.0


@pytest.fixture
def metrics() -> VigilMetrics:
    return VigilMetrics(CollectorRegistry())


async def test_successful_run_counts_success_and_duration(metrics: VigilMetrics) -> None:
    async with track_task("retention", metrics=metrics):
        assert active(metrics, "retention") == 1
        await asyncio.sleep(0.01)
    assert runs(metrics, "retention", "success") == 1
    assert active(metrics, "retention") == 0
    duration = metrics.registry.get_sample_value(
        "vigil_task_duration_seconds_sum", {"task": "retention"}
    )
    assert duration is not None
    assert duration >= 0.01


async def test_raising_run_counts_error_and_reraises(metrics: VigilMetrics) -> None:
    with pytest.raises(RuntimeError):
        async with track_task("checks", metrics=metrics):
            raise RuntimeError("probe failed")
    assert runs(metrics, "checks", "error") == 1
    assert active(metrics, "checks") == 0


async def test_cancelled_run_counts_cancelled_and_reraises(metrics: VigilMetrics) -> None:
    started = asyncio.Event()

    async def job() -> None:
        async with track_task("outbox", metrics=metrics):
            started.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(job())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs(metrics, "outbox", "cancelled") == 1
    assert active(metrics, "outbox") == 0


async def test_run_longer_than_its_timeout_counts_timeout(metrics: VigilMetrics) -> None:
    with pytest.raises(TimeoutError):
        async with track_task("scrape", metrics=metrics, time_limit=0.01):
            await asyncio.sleep(1)
    assert runs(metrics, "scrape", "timeout") == 1
    assert active(metrics, "scrape") == 0


async def test_timeout_error_raised_inside_the_body_counts_timeout(
    metrics: VigilMetrics,
) -> None:
    with pytest.raises(TimeoutError):
        async with track_task("probe", metrics=metrics), asyncio.timeout(0.01):
            await asyncio.sleep(1)
    assert runs(metrics, "probe", "timeout") == 1


async def test_decorator_and_on_finish_hook_receive_the_run(metrics: VigilMetrics) -> None:
    seen: list[TaskRun] = []

    async def store(run: TaskRun) -> None:
        seen.append(run)

    @instrumented_task("evaluate", metrics=metrics, on_finish=store)
    async def evaluate(x: int) -> int:
        return x * 2

    assert await evaluate(21) == 42
    assert [(r.task, r.status) for r in seen] == [("evaluate", "success")]
    assert seen[0].started_at.tzinfo is not None


async def test_failing_hook_does_not_hide_the_outcome(metrics: VigilMetrics) -> None:
    def broken_hook(run: TaskRun) -> None:
        raise OSError("db down")

    async with track_task("ok", metrics=metrics, on_finish=broken_hook):
        pass
    assert runs(metrics, "ok", "success") == 1


async def test_run_is_one_internal_span_with_error_status() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with pytest.raises(ValueError):
        async with track_task("rules", tracer=provider.get_tracer("t")):
            raise ValueError("bad rule")
    (span,) = exporter.get_finished_spans()
    assert span.name == "job rules"
    assert span.kind is SpanKind.INTERNAL
    assert span.attributes is not None
    assert span.attributes["vigil.job.status"] == "error"
    assert not span.status.is_ok
