"""Failed requests get an error class and a short detail; URLs join base and path."""

from __future__ import annotations

import ssl

import httpx
import pytest

from app.services.addresses import RefusedAddressError, UnresolvableHostError
from app.services.checks import MAX_DETAIL_LENGTH, classify, join_url


def _tls_error() -> httpx.ConnectError:
    try:
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed: self-signed")
        except ssl.SSLError as exc:
            raise httpx.ConnectError("handshake failed") from exc
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RefusedAddressError("x resolves to 169.254.169.254"), "refused_address"),
        (UnresolvableHostError("cannot resolve x"), "dns"),
        (TimeoutError(), "timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connect"),
        (_tls_error(), "tls"),
        (httpx.RemoteProtocolError("illegal header"), "protocol"),
        (httpx.DecodingError("bad gzip"), "http"),
    ],
)
def test_error_classes(error: Exception, expected: str) -> None:
    error_class, detail = classify(error, timeout=2.5)
    assert error_class == expected
    assert detail


def test_timeout_detail_names_the_limit() -> None:
    assert classify(TimeoutError(), timeout=2.5) == ("timeout", "no answer within 2.5 s")


def test_details_are_short_and_on_one_line() -> None:
    _, detail = classify(httpx.ConnectError("line one\nline two " + "x" * 1000), timeout=1)
    assert len(detail) == MAX_DETAIL_LENGTH
    assert "\n" not in detail


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("https://shop.internal", "/healthz", "https://shop.internal/healthz"),
        ("https://shop.internal/", "/healthz", "https://shop.internal/healthz"),
        ("http://h:8080/api", "metrics", "http://h:8080/api/metrics"),
        ("http://h:8080/api/", "/metrics", "http://h:8080/api/metrics"),
    ],
)
def test_join_url(base: str, path: str, url: str) -> None:
    assert join_url(base, path) == url
