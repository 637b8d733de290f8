"""The signals rules are written on, one module per kind, and their registry."""

from __future__ import annotations

from typing import Final

from app.alerts.signals import (
    promql,
    scraped_metric,
    service_down,
    service_latency_p95,
    task_failed,
    task_overdue,
    web_vital_p75,
)
from app.alerts.signals.base import ParamsError, Sample, Signal, SignalContext, SignalError

SIGNALS: Final[dict[str, Signal]] = {
    module.SIGNAL.kind: module.SIGNAL
    for module in (
        web_vital_p75,
        service_down,
        service_latency_p95,
        task_failed,
        task_overdue,
        scraped_metric,
        promql,
    )
}

__all__ = ["SIGNALS", "ParamsError", "Sample", "Signal", "SignalContext", "SignalError"]
