"""One HTTP health check of a registered service, as a value: never raises for the target's
faults (timeouts, refused connections, bad TLS, wrong status, refused addresses).

Error classes stored with a failed check: ``timeout``, ``connect``, ``dns``, ``tls``,
``protocol``, ``status`` (an answer other than the expected status), ``refused_address``
(link-local / cloud metadata, see :mod:`app.services.addresses`) and ``http`` (any other
transport error).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import httpx

from app.services.addresses import GuardedTransport, RefusedAddressError, UnresolvableHostError
from app.services.models import Service
from app.telemetry import traced_async_client

MAX_DETAIL_LENGTH: Final = 300


@dataclass(frozen=True, slots=True)
class CheckTarget:
    """What a check needs to know of a service, read once so no ORM object crosses awaits."""

    service_id: int
    name: str
    health_url: str
    metrics_url: str | None
    expected_status: int
    timeout_seconds: float

    @classmethod
    def of(cls, service: Service) -> CheckTarget:
        metrics = service.metrics_path
        return cls(
            service_id=service.id,
            name=service.name,
            health_url=join_url(service.base_url, service.health_path),
            metrics_url=join_url(service.base_url, metrics) if metrics else None,
            expected_status=service.expected_status,
            timeout_seconds=service.timeout_seconds,
        )


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check; ``error`` is the class of a failure, ``detail`` says more."""

    checked_at: datetime
    ok: bool
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    detail: str | None = None


def join_url(base_url: str, path: str) -> str:
    """``https://host/prefix`` + ``/healthz`` → ``https://host/prefix/healthz``."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def make_client(*, allow_link_local: bool, user_agent: str) -> httpx.AsyncClient:
    """The client checks and scrapes use: guarded addresses, ``traceparent`` on every request,
    no redirects followed, no proxy or credentials from the environment."""
    return traced_async_client(
        transport=GuardedTransport(allow_link_local=allow_link_local),
        headers={"User-Agent": user_agent},
        follow_redirects=False,
        trust_env=False,
    )


async def check(client: httpx.AsyncClient, target: CheckTarget, *, now: datetime) -> CheckResult:
    """GET the health URL within the target's timeout; ok when the expected status answers.

    Latency is the time to the response headers; the body is not read.
    """
    start = time.perf_counter()
    try:
        async with asyncio.timeout(target.timeout_seconds):
            async with client.stream(
                "GET", target.health_url, timeout=target.timeout_seconds
            ) as response:
                latency_ms = (time.perf_counter() - start) * 1000
                status = response.status_code
    except Exception as exc:  # every failure of the target becomes a stored result
        error, detail = classify(exc, timeout=target.timeout_seconds)
        return CheckResult(now, ok=False, error=error, detail=detail)
    if status != target.expected_status:
        return CheckResult(
            now,
            ok=False,
            status_code=status,
            latency_ms=latency_ms,
            error="status",
            detail=f"expected HTTP {target.expected_status}, got {status}",
        )
    return CheckResult(now, ok=True, status_code=status, latency_ms=latency_ms)


def classify(exc: BaseException, *, timeout: float) -> tuple[str, str]:
    """The error class and a short detail of a failed request."""
    if isinstance(exc, RefusedAddressError):
        return "refused_address", _short(str(exc))
    if isinstance(exc, UnresolvableHostError):
        return "dns", _short(str(exc))
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timeout", f"no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        if _caused_by_tls(exc):
            return "tls", _short(f"TLS handshake failed: {exc}")
        return "connect", _short(f"cannot connect: {exc}")
    if isinstance(exc, httpx.ProtocolError):
        return "protocol", _short(f"bad HTTP answer: {exc}")
    return "http", _short(f"{type(exc).__name__}: {exc}")


def _caused_by_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in str(seen) or "certificate" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _short(text: str) -> str:
    text = " ".join(text.split()) or "no detail"
    return text if len(text) <= MAX_DETAIL_LENGTH else text[: MAX_DETAIL_LENGTH - 1] + "…"
