"""``POST /rum/v1/{site_key}``: the beacon endpoint (and its CORS preflight).

Mounted at ``/rum/v1`` (Litestar 2.25 cannot route path parameters to an ASGI handler; the
mount hands over ``/{site_key}/`` as the path).

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

import time
from typing import Final, cast

from litestar import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.serialization import encode_json
from litestar.types import HTTPScope, Receive, Scope, Send

from app.auth.principal import PUBLIC
from app.db.base import utcnow
from app.rum.ingest import UNKNOWN, KnownSite, Outcome, RumIngest
from app.rum.schemas import BeaconError, decode_beacon

INGEST_PATH: Final = "/rum/v1"
"""Mounted: the site key is the rest of the path (``/rum/v1/{site_key}``)."""
ACCEPTED_MEDIA_TYPES: Final = frozenset({b"text/plain", b"application/json"})
PREFLIGHT_MAX_AGE: Final = b"86400"

_BASE_HEADERS: Final[list[tuple[bytes, bytes]]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]


def rum_routes(ingest: RumIngest) -> list[ASGIRouteHandler]:
    """The ingest route, bound to this app's :class:`RumIngest`."""

    @asgi(INGEST_PATH, opt=PUBLIC, is_mount=True, copy_scope=False, name="rum:ingest")
    async def rum_ingest(scope: Scope, receive: Receive, send: Send) -> None:
        await _handle(ingest, scope, receive, send)

    return [rum_ingest]


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
        await _respond(send, 405, extra=[(b"allow", b"POST, OPTIONS")])
        return
    max_bytes = ingest.max_body_bytes
    if method == "POST" and content_length > max_bytes:
        ingest.count(UNKNOWN, UNKNOWN, "too_large")
        await _respond(send, 413, f"body larger than {max_bytes} bytes")
        return

    key = scope["path"].strip("/")  # the mount leaves "/{site_key}/"
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
