"""Registered services' HTTP and SSE figures from Prometheus (when ``alerts.prometheus_url``
is set), for the "HTTP & SSE" page.

Prometheus finds the services through Vigil's HTTP SD, which labels every target with
``vigil_service``; services instrumented with Vigil's toolkit export the same metric names as
Vigil (``vigil_http_requests_total``, ``vigil_http_request_duration_seconds``,
``vigil_sse_*``). A few instant queries run concurrently, under one timeout::

    async with httpx.AsyncClient(timeout=5) as http:
        figures = await service_figures(http, "http://prometheus:9090", window="5m")
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Final

import httpx

from app.alerts.signals.base import Sample, SignalError
from app.alerts.signals.promql import samples_from_result
from app.ui.overview import ERROR_RATIO_BAD, format_rate, format_ratio, format_seconds

ROWS_SHOWN: Final = 100
_SELECTOR: Final = 'vigil_service!=""'
_BY_ROUTE: Final = "vigil_service, route, method"


def queries(window: str) -> dict[str, str]:
    """The PromQL of each figure over ``window`` (a PromQL duration such as ``5m``)."""
    requests = f"rate(vigil_http_requests_total{{{_SELECTOR}}}[{window}])"
    errors = f'rate(vigil_http_requests_total{{{_SELECTOR},status_class="5xx"}}[{window}])'
    buckets = f"rate(vigil_http_request_duration_seconds_bucket{{{_SELECTOR}}}[{window}])"
    by_le = f"sum by ({_BY_ROUTE}, le) ({buckets})"
    return {
        "rate": f"sum by ({_BY_ROUTE}) ({requests})",
        "errors": f"sum by ({_BY_ROUTE}) ({errors})",
        "p50": f"histogram_quantile(0.5, {by_le})",
        "p95": f"histogram_quantile(0.95, {by_le})",
        "p99": f"histogram_quantile(0.99, {by_le})",
        "sse_active": "sum by (vigil_service, stream) "
        f"(vigil_sse_connections_active{{{_SELECTOR}}})",
        "sse_messages": "sum by (vigil_service, stream, status) "
        f"(increase(vigil_sse_messages_total{{{_SELECTOR}}}[{window}]))",
    }


@dataclass(frozen=True, slots=True)
class ServiceRoute:
    service: str
    route: str
    method: str
    rate: str
    error_ratio: str
    error_tone: str
    p50: str
    p95: str
    p99: str


@dataclass(frozen=True, slots=True)
class ServiceStream:
    service: str
    stream: str
    active: str
    ok: str
    write_errors: str


@dataclass(frozen=True, slots=True)
class ServiceFigures:
    routes: list[ServiceRoute]
    streams: list[ServiceStream]
    error: str | None = None
    """Why nothing could be read (Prometheus down, a rejected query...)."""


async def _query(http: httpx.AsyncClient, prometheus_url: str, promql: str) -> list[Sample]:
    try:
        response = await http.get(
            prometheus_url.rstrip("/") + "/api/v1/query", params={"query": promql}
        )
    except httpx.TimeoutException:
        raise SignalError(f"Prometheus at {prometheus_url} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise SignalError(f"Prometheus at {prometheus_url} is unreachable: {exc}") from None
    if response.status_code != 200:
        raise SignalError(f"Prometheus answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise SignalError("Prometheus answered something that is not JSON") from None
    return samples_from_result(body.get("data") if isinstance(body, dict) else None)


def _value(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value


async def service_figures(
    http: httpx.AsyncClient, prometheus_url: str, *, window: str
) -> ServiceFigures:
    """Every registered service's routes and streams; ``error`` says why when none could be
    read (never raises for Prometheus' sake)."""
    named = queries(window)
    try:
        results = await asyncio.gather(
            *(_query(http, prometheus_url, promql) for promql in named.values())
        )
    except SignalError as exc:
        return ServiceFigures(routes=[], streams=[], error=str(exc))
    by_name = dict(zip(named, results, strict=True))
    return ServiceFigures(routes=_routes(by_name), streams=_streams(by_name))


def _key(sample: Sample, *names: str) -> tuple[str, ...]:
    return tuple(sample.labels.get(name, "") for name in names)


def _routes(by_name: dict[str, list[Sample]]) -> list[ServiceRoute]:
    names = ("vigil_service", "route", "method")
    values = {
        figure: {_key(s, *names): _value(s.value) for s in by_name[figure]}
        for figure in ("rate", "errors", "p50", "p95", "p99")
    }
    rows = []
    for key, rate in sorted(values["rate"].items(), key=lambda item: -(item[1] or 0.0)):
        errors = values["errors"].get(key) or 0.0
        share = errors / rate if rate else None
        rows.append(
            ServiceRoute(
                service=key[0],
                route=key[1],
                method=key[2],
                rate=format_rate(rate),
                error_ratio=format_ratio(share),
                error_tone="bad" if share is not None and share > ERROR_RATIO_BAD else "ok",
                p50=format_seconds(values["p50"].get(key)),
                p95=format_seconds(values["p95"].get(key)),
                p99=format_seconds(values["p99"].get(key)),
            )
        )
    return rows[:ROWS_SHOWN]


def _streams(by_name: dict[str, list[Sample]]) -> list[ServiceStream]:
    active = {_key(s, "vigil_service", "stream"): s.value for s in by_name["sse_active"]}
    messages: dict[tuple[str, ...], dict[str, float]] = {}
    for s in by_name["sse_messages"]:
        by_status = messages.setdefault(_key(s, "vigil_service", "stream"), {})
        by_status[s.labels.get("status", "")] = _value(s.value) or 0.0
    return [
        ServiceStream(
            service=key[0],
            stream=key[1],
            active=f"{active.get(key, 0.0):,.0f}",
            ok=f"{messages.get(key, {}).get('ok', 0.0):,.0f}",
            write_errors=f"{messages.get(key, {}).get('write_error', 0.0):,.0f}",
        )
        for key in sorted(set(active) | set(messages))
    ][:ROWS_SHOWN]
