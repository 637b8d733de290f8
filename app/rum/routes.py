"""``POST /rum/v1/{site_key}``: the beacon endpoint (and its CORS preflight).

Served by :class:`IngestFastPath` in front of Litestar's router.

A plain ASGI handler, because it runs for every page view of every site: it reads the few
headers it needs in one pass, rejects early (size from ``Content-Length``, unknown site,
origin, crawler, rate limit, media type) before reading the body, reads at most
``rum.max_body_bytes``, decodes strictly and counts. Order of checks and statuses:

====  ==================================================================
413   ``Content-Length`` (or the body as it is read) > ``rum.max_body_bytes``
404   unknown site key
403   no ``Origin`` or one not in the site's ``allowed_origins`` (``*`` allows any)
202   crawler user agent: answered as accepted, nothing counted but ``bot``
429   the site's token bucket is empty (``Retry-After`` in seconds)
415   content type other than ``text/plain`` / ``application/json``
400   body not a beacon (the message names the field)
202   accepted
====  ==================================================================

Responses never set a cookie; cookies and the client address are never read.
"""

from __future__ import annotations

import logging
import time
from typing import Final, cast

from litestar.enums import ScopeType
from litestar.serialization import encode_json
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from app.db.base import utcnow
from app.rum.ingest import UNKNOWN, KnownSite, Outcome, RumIngest, SitesUnavailable
from app.rum.schemas import BeaconError, decode_beacon

INGEST_PREFIX: Final = "/rum/v1/"
INGEST_TEMPLATE: Final = "/rum/v1/{site_key}"
ACCEPTED_MEDIA_TYPES: Final = frozenset({b"text/plain", b"application/json"})
PREFLIGHT_MAX_AGE: Final = b"86400"
RETRY_AFTER_UNAVAILABLE: Final = b"5"

_BASE_HEADERS: Final[list[tuple[bytes, bytes]]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]
log = logging.getLogger(__name__)


class IngestFastPath:
    """Serves ``/rum/v1/{site_key}`` in front of the app's router; the rest goes to ``app``.

    The beacon needs none of the app's middleware (sessions, login, CSRF), and it is the
    request Vigil gets most, so it skips the router and those layers (see
    docs/performance.md). The telemetry middleware wraps this, so beacons are measured and
    traced like every other request, under the route ``/rum/v1/{site_key}``.
    """

    __slots__ = ("app", "ingest")

    def __init__(self, app: ASGIApp, ingest: RumIngest) -> None:
        self.app = app
        self.ingest = ingest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope["path"].startswith(INGEST_PREFIX):
            await self.app(scope, receive, send)
            return
        scope["path_template"] = INGEST_TEMPLATE
        try:
            await _handle(self.ingest, scope, receive, send)
        except SitesUnavailable:
            # The site lookup could not reach the database: try again later, nothing lost.
            log.warning("beacon refused: its site is not cached and the database is down")
            await _respond(
                send,
                503,
                "temporarily unavailable",
                extra=[(b"retry-after", RETRY_AFTER_UNAVAILABLE)],
            )


async def _handle(ingest: RumIngest, scope: Scope, receive: Receive, send: Send) -> None:
    method = cast("HTTPScope", scope)["method"]
    content_length = -1
    content_type = b""
    origin: str | None = None
    user_agent = ""
    for name, value in scope["headers"]:
        if name == b"content-length":
            content_length = int(value) if value.isdigit() else -2
        elif name == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
        elif name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"user-agent":
            user_agent = value.decode("latin-1")

    if method not in ("POST", "OPTIONS"):
        detail = "send beacons with POST (OPTIONS for the CORS preflight)"
        await _respond(send, 405, detail, extra=[(b"allow", b"POST, OPTIONS")])
        return
    max_bytes = ingest.max_body_bytes
    if method == "POST" and content_length > max_bytes:
        ingest.count(UNKNOWN, UNKNOWN, "too_large")
        await _respond(send, 413, f"body larger than {max_bytes} bytes")
        return

    key = scope["path"][len(INGEST_PREFIX) :].strip("/")
    site = None
    if key and "/" not in key:
        site = ingest.sites.cached(key) or await ingest.sites.get(key)
    if site is None:
        ingest.count(UNKNOWN, UNKNOWN, "unknown_site")
        await _respond(send, 404, "unknown site key")
        return
    if origin is None or not site.allows_origin(origin):
        ingest.count(site.key, UNKNOWN, "forbidden_origin")
        await _respond(send, 403, "origin not allowed for this site")
        return
    cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
    if method == "OPTIONS":
        await _respond(send, 204, extra=[*cors, *_preflight_headers()])
        return

    reject = _early_reject(ingest, site, content_type=content_type, user_agent=user_agent)
    if reject is not None:
        outcome, status, detail, extra = reject
        ingest.count(site.key, UNKNOWN, outcome)
        await _respond(send, status, detail, extra=[*cors, *extra])
        return

    body = await _read_body(receive, max_bytes)
    if body is None:
        ingest.count(site.key, UNKNOWN, "too_large")
        await _respond(send, 413, f"body larger than {max_bytes} bytes", extra=cors)
        return
    try:
        beacon = decode_beacon(body)
    except BeaconError as exc:
        ingest.count(site.key, UNKNOWN, "invalid")
        await _respond(send, 400, str(exc), extra=cors)
        return
    ingest.accept(site, beacon, now=utcnow())
    await _respond(send, 202, extra=cors)


_Reject = tuple[Outcome, int, str, list[tuple[bytes, bytes]]]


def _early_reject(
    ingest: RumIngest, site: KnownSite, *, content_type: bytes, user_agent: str
) -> _Reject | None:
    if ingest.is_bot(user_agent):
        return "bot", 202, "", []
    wait = ingest.limiter.take(site.id, now=time.monotonic())
    if wait is not None:
        return "rate_limited", 429, "rate limit exceeded", [(b"retry-after", b"%d" % wait)]
    if content_type not in ACCEPTED_MEDIA_TYPES:
        detail = "send the beacon as text/plain or application/json"
        return "unsupported_media_type", 415, detail, []
    return None


def _preflight_headers() -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-methods", b"POST"),
        (b"access-control-allow-headers", b"Content-Type"),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE),
    ]


async def _read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The request body, or None as soon as it exceeds ``max_bytes`` (never buffered)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client went away: an empty body, answered 400 to no one
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _respond(
    send: Send, status: int, detail: str = "", *, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [*_BASE_HEADERS, *(extra or ())]
    body = b""
    if detail:
        body = encode_json({"status_code": status, "detail": detail})
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
