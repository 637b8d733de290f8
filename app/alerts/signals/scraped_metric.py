"""``scraped_metric``: one number from a service's latest ``/metrics`` scrape.

``selector`` is a Prometheus series selector, ``name`` or ``name{label="v",other=~"re.*"}``;
the samples it selects are aggregated (``sum``, ``avg``, ``min``, ``max``, ``count``) into
one series labelled ``service``. A service not scraped yet, or whose selector selects
nothing, has no series; a failed last scrape is an error of the rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.signals.base import ParamsError, Sample, SignalContext, SignalError
from app.alerts.silences import Matcher, MatcherError, make_matcher, matches_all
from app.services.models import Service

KIND: Final = "scraped_metric"
_NAME: Final = re.compile(
    r"^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<body>.*)\})?\s*$", re.S
)
_PAIR: Final = re.compile(
    r'\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)'
)

Aggregation = Literal["sum", "avg", "min", "max", "count"]


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    service_id: int
    selector: str
    aggregation: Aggregation = "sum"


def parse_selector(selector: str) -> tuple[str, tuple[Matcher, ...]]:
    """``'http_requests_total{code=~"5.."}'`` -> name and matchers; raises ParamsError."""
    match = _NAME.match(selector)
    if match is None:
        raise ParamsError("selector", 'expected metric_name or metric_name{label="value",...}')
    matchers = []
    body = (match["body"] or "").strip()
    position = 0
    while position < len(body):
        pair = _PAIR.match(body, position)
        if pair is None or pair.end() == position:
            raise ParamsError("selector", f"cannot read the label matchers at {body[position:]!r}")
        value = msgspec.json.decode(f'"{pair["value"]}"'.encode())
        try:
            matchers.append(make_matcher(pair["name"], pair["op"], value))
        except MatcherError as exc:
            raise ParamsError("selector", str(exc)) from None
        position = pair.end()
    return match["name"], tuple(matchers)


def aggregate(values: Sequence[float], how: Aggregation) -> float:
    """The aggregation of a non-empty sequence."""
    if how == "sum":
        return float(sum(values))
    if how == "avg":
        return float(sum(values)) / len(values)
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    return float(len(values))


class ScrapedMetric:
    kind = KIND
    params_type = Params

    def check(self, params: Params) -> None:
        parse_selector(params.selector)

    async def evaluate(
        self, session: AsyncSession, params: Params, ctx: SignalContext
    ) -> Sequence[Sample]:
        name, matchers = parse_selector(params.selector)
        service = await _service_name(session, params.service_id, ctx)
        if service is None or ctx.scrapes is None:
            return []
        scrape: Any = ctx.scrapes.latest(params.service_id)
        if scrape is None:
            return []
        if scrape.error is not None:
            raise SignalError(f"the last scrape of {service} failed: {scrape.error}")
        values = [
            float(sample.value)
            for sample in scrape.samples
            if sample.name == name and matches_all(matchers, sample.labels)
        ]
        if not values:
            return []
        return [Sample({"service": service}, aggregate(values, params.aggregation))]


async def _service_name(session: AsyncSession, service_id: int, ctx: SignalContext) -> str | None:
    names: dict[int, str] | None = ctx.cache.get(KIND)
    if names is None:
        rows = await session.execute(
            select(Service.id, Service.name).where(
                Service.enabled.is_(True), Service.state != "paused"
            )
        )
        names = {service_id: name for service_id, name in rows.all()}
        ctx.cache[KIND] = names
    return names.get(service_id)


SIGNAL: Final = ScrapedMetric()
