"""Instrumentation of background jobs: one INTERNAL span, runs by status, duration, active.

Statuses: ``success``, ``error`` (an exception), ``cancelled`` (``asyncio.CancelledError``,
re-raised) and ``timeout`` (``TimeoutError``, e.g. from ``asyncio.timeout``). An
``on_finish`` callback receives a :class:`TaskRun` after each run, so a scheduler can store
a row without this module knowing about any database.

    async with track_task("retention", metrics=metrics, tracer=tracer):
        await delete_old_rows()

    @instrumented_task("outbox", metrics=metrics, on_finish=store_run)
    async def dispatch_outbox() -> None: ...
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from app.telemetry.metrics import VigilMetrics

__all__ = ["RunStatus", "TaskRun", "instrumented_task", "track_task"]

logger = logging.getLogger(__name__)
RunStatus = Literal["success", "error", "cancelled", "timeout"]
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class TaskRun:
    """What happened in one run, handed to ``on_finish``."""

    task: str
    status: RunStatus
    started_at: datetime
    duration_seconds: float
    error: BaseException | None = None


OnFinish = Callable[[TaskRun], Awaitable[None] | None]


@asynccontextmanager
async def track_task(
    name: str,
    *,
    metrics: VigilMetrics | None = None,
    tracer: trace.Tracer | None = None,
    on_finish: OnFinish | None = None,
    time_limit: float | None = None,
) -> AsyncIterator[trace.Span]:
    """Measure the body as one run of job ``name``; yields its span (non-recording if none).

    ``time_limit`` (seconds) cancels the body when it runs longer and counts a ``timeout`` run
    (a ``TimeoutError`` is raised). A timeout *around* this block looks like a cancellation
    from inside, and counts as ``cancelled``.
    """
    span: trace.Span = trace.INVALID_SPAN
    token = None
    if tracer is not None:
        span = tracer.start_span(f"job {name}", kind=SpanKind.INTERNAL)
        if span.is_recording():
            span.set_attribute("vigil.job", name)
        token = otel_context.attach(trace.set_span_in_context(span))
    if metrics is not None:
        metrics.tasks_active.labels(name).inc()
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    status: RunStatus = "success"
    error: BaseException | None = None
    try:
        if time_limit is None:
            yield span
        else:
            async with asyncio.timeout(time_limit):
                yield span
    except asyncio.CancelledError as exc:
        status, error = "cancelled", exc
        raise
    except TimeoutError as exc:
        status, error = "timeout", exc
        raise
    except Exception as exc:
        status, error = "error", exc
        raise
    finally:
        duration = time.perf_counter() - start
        if metrics is not None:
            metrics.tasks_active.labels(name).dec()
            metrics.task_runs.labels(name, status).inc()
            metrics.task_duration.labels(name).observe(duration)
        if span.is_recording():
            span.set_attribute("vigil.job.status", status)
            if isinstance(error, Exception):
                span.record_exception(error)
            if status != "success":
                span.set_status(Status(StatusCode.ERROR, status))
        span.end()
        if token is not None:
            otel_context.detach(token)
        if on_finish is not None:
            await _call_hook(on_finish, TaskRun(name, status, started_at, duration, error))


async def _call_hook(hook: OnFinish, run: TaskRun) -> None:
    try:
        result = hook(run)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a failing hook must not hide the run's own outcome
        logger.exception("on_finish hook of job %s failed", run.task)


def instrumented_task(
    name: str,
    *,
    metrics: VigilMetrics | None = None,
    tracer: trace.Tracer | None = None,
    on_finish: OnFinish | None = None,
    time_limit: float | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorator form of :func:`track_task` for async functions."""

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            async with track_task(
                name, metrics=metrics, tracer=tracer, on_finish=on_finish, time_limit=time_limit
            ):
                return await func(*args, **kwargs)

        return wrapper

    return decorate
