"""What every signal provides: typed parameters, a check of them, and an evaluation that
returns the current series (labels and value) or raises :class:`SignalError`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession


class SignalError(Exception):
    """The signal cannot be read now (bad query, Prometheus down, ...); the message says why."""


class ParamsError(ValueError):
    """A parameter is wrong: ``field`` names it (e.g. ``selector``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Sample:
    """One series of a signal: its labels and current value."""

    labels: dict[str, str]
    value: float


class ScrapeReader(Protocol):
    """``app.services.scrapes.ScrapeStore`` as the ``scraped_metric`` signal uses it."""

    def latest(self, service_id: int) -> Any: ...


@dataclass(slots=True)
class SignalContext:
    """What evaluations need besides the database session."""

    now: datetime
    prometheus_url: str = ""
    """Empty: PromQL rules are not evaluated."""
    http: httpx.AsyncClient | None = None
    scrapes: ScrapeReader | None = None
    timeout_seconds: float = 10.0
    cache: dict[Any, Any] = field(default_factory=dict)
    """Per-tick memo: rules reading the same data share one query."""


class Signal(Protocol):
    """A kind of signal; one module per kind under ``app.alerts.signals``."""

    kind: str
    params_type: type[msgspec.Struct]

    def check(self, params: Any) -> None:
        """Further checks of converted params; raises :class:`ParamsError`."""

    async def evaluate(
        self, session: AsyncSession, params: Any, ctx: SignalContext
    ) -> Sequence[Sample]:
        """The current series; raises :class:`SignalError`."""
        ...
