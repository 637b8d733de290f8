"""Scrape one service's ``/metrics`` into a :class:`~app.services.scrapes.Scrape` value.

Never raises for the target's faults: a refused connection, a timeout, a non-200 answer, an
oversized body or text the Prometheus parser rejects all become a scrape with ``error`` set
and no samples. At most ``max_series`` samples are kept; the rest are counted as dropped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app.services.checks import CheckTarget, classify
from app.services.scrapes import Scrape

ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"
"""The classic text format, which ``prometheus_client``'s parser reads."""


@dataclass(frozen=True, slots=True)
class ParsedSamples:
    samples: tuple[Sample, ...]
    dropped: int


class ScrapeError(Exception):
    """A scrape that produced no usable text (status, size, encoding)."""


def parse_samples(text: str, *, max_series: int) -> ParsedSamples:
    """Every sample of the exposition ``text``, the first ``max_series`` kept.

    Raises ``ValueError`` (or another parser error) on malformed text.
    """
    kept: list[Sample] = []
    dropped = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if len(kept) < max_series:
                kept.append(sample)
            else:
                dropped += 1
    return ParsedSamples(tuple(kept), dropped)


async def scrape(
    client: httpx.AsyncClient,
    target: CheckTarget,
    *,
    now: datetime,
    max_series: int,
    max_bytes: int,
) -> Scrape:
    """GET the target's metrics URL within its timeout and parse it (in a worker thread)."""
    if target.metrics_url is None:
        raise ValueError(f"service {target.name!r} has no metrics path")
    try:
        async with asyncio.timeout(target.timeout_seconds):
            text = await _fetch(client, target.metrics_url, target.timeout_seconds, max_bytes)
    except ScrapeError as exc:
        return _failed(target, now, str(exc))
    except Exception as exc:
        error, detail = classify(exc, timeout=target.timeout_seconds)
        return _failed(target, now, f"{error}: {detail}")
    try:
        parsed = await asyncio.to_thread(parse_samples, text, max_series=max_series)
    except Exception as exc:  # the parser raises ValueError, IndexError, ... on bad text
        return _failed(target, now, f"malformed metrics text: {type(exc).__name__}: {exc}"[:300])
    return Scrape(target.service_id, now, parsed.samples, parsed.dropped, None)


async def _fetch(client: httpx.AsyncClient, url: str, seconds: float, max_bytes: int) -> str:
    async with client.stream("GET", url, timeout=seconds, headers={"Accept": ACCEPT}) as response:
        if response.status_code != 200:
            raise ScrapeError(f"status: expected HTTP 200, got {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ScrapeError(f"too large: over {max_bytes} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScrapeError(f"malformed metrics text: not UTF-8 ({exc.reason})") from None


def _failed(target: CheckTarget, now: datetime, error: str) -> Scrape:
    return Scrape(target.service_id, now, (), 0, error)
