"""``/ping/{token}/{task}[/start|/fail|/log|/{exit_status}]``: task run reports.

Served by :class:`PingFastPath` in front of Litestar's router, like RUM beacons: a ping
needs none of the app's session, login or CSRF layers, and cron fleets send many at once.
GET, POST and HEAD all work; ``?rid=`` pairs a start with its end. Public: the token is
the capability. Statuses, in the order they are checked:

====  ==================================================================
405   a method other than GET, POST, HEAD
400   malformed URL, task name, action, exit status or rid (the message says which)
404   unknown ping token, or unknown task while auto-create is off (or at its cap)
429   the token's bucket is empty (``Retry-After`` in seconds)
413   body over :data:`MAX_BODY_BYTES` (up to ``tasks.max_log_bytes`` of it is kept as log)
503   the token could not be looked up or the ping not stored (database down): retry
200   ``OK``: the ping is committed
====  ==================================================================

The token must never reach a log or a metric label: :class:`PingTokenRedaction`, outside
the telemetry middleware, replaces it in the path every layer sees (access log, spans,
uvicorn) and keeps the real path in the scope for :class:`PingFastPath`.
"""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import parse_qs

from litestar.enums import ScopeType
from litestar.serialization import encode_json
from litestar.types import ASGIApp, Receive, Scope, Send

from app.db.base import utcnow
from app.tasks.ingest import PingIngest
from app.tasks.pings import Ping, PingError, check_rid, log_text, parse_action
from app.tasks.writer import PingNotStored, UnknownTask, WriterUnavailable

PING_PREFIX: Final = "/ping/"
ROUTE_TEMPLATE: Final = "/ping/{token}/{task}"
ROUTE_TEMPLATE_ACTION: Final = "/ping/{token}/{task}/{action}"
TOKEN_PLACEHOLDER: Final = "{token}"  # noqa: S105 (the placeholder shown instead of it)
RAW_PATH_KEY: Final = "vigil.ping_path"
"""Scope key holding the real path (with the token) for :class:`PingFastPath`."""
MAX_BODY_BYTES: Final = 1_048_576
"""Largest body read at all; beyond ``tasks.max_log_bytes`` it is only counted, not kept."""
RETRY_AFTER_UNAVAILABLE: Final = b"5"
_ALLOWED_METHODS: Final = frozenset({"GET", "POST", "HEAD"})
_BASE_HEADERS: Final[list[tuple[bytes, bytes]]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]
log = logging.getLogger(__name__)


class PingTokenRedaction:
    """Hides ping tokens from what it wraps: ``/ping/abc/x`` is seen as ``/ping/{token}/x``."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(PING_PREFIX):
            path: str = scope["path"]
            scope[RAW_PATH_KEY] = path  # type: ignore[typeddict-unknown-key]
            _, _, rest = path[len(PING_PREFIX) :].partition("/")
            redacted = f"{PING_PREFIX}{TOKEN_PLACEHOLDER}/{rest}"
            scope["path"] = redacted
            scope["raw_path"] = redacted.encode("utf-8")
        await self.app(scope, receive, send)


class PingFastPath:
    """Serves pings (see the module docstring); everything else goes to ``app``."""

    __slots__ = ("app", "ingest")

    def __init__(self, app: ASGIApp, ingest: PingIngest) -> None:
        self.app = app
        self.ingest = ingest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        raw_path = scope.get(RAW_PATH_KEY) or scope["path"]
        if not str(raw_path).startswith(PING_PREFIX):
            await self.app(scope, receive, send)
            return
        token, _, rest = str(raw_path)[len(PING_PREFIX) :].partition("/")
        scope["path_template"] = ROUTE_TEMPLATE_ACTION if "/" in rest.strip("/") else ROUTE_TEMPLATE
        status, detail, extra = await _handle(self.ingest, scope, receive, token, rest)
        await _respond(send, status, detail, extra=extra, head=scope.get("method") == "HEAD")


_Answer = tuple[int, str, list[tuple[bytes, bytes]]]


async def _handle(
    ingest: PingIngest, scope: Scope, receive: Receive, token: str, rest: str
) -> _Answer:
    method = scope.get("method", "")
    if method not in _ALLOWED_METHODS:
        return 405, "use GET, POST or HEAD", [(b"allow", b"GET, POST, HEAD")]
    try:
        action = parse_action(rest)
        rid = check_rid(_query_value(scope.get("query_string", b""), "rid"))
    except PingError as exc:
        return 400, str(exc), []
    try:
        service_id = await ingest.service_id(token) if token else None
    except Exception as exc:
        # Only the error's class: a database error's text carries the query's parameters,
        # which here are the token.
        log.warning("ping refused: token lookup failed (%s)", type(exc).__name__)
        return 503, "temporarily unavailable", [(b"retry-after", RETRY_AFTER_UNAVAILABLE)]
    if service_id is None:
        return 404, "unknown ping token", []
    wait = ingest.rate_limited(service_id)
    if wait is not None:
        return 429, "rate limit exceeded", [(b"retry-after", b"%d" % wait)]
    body, truncated = await _read_body(receive, keep=ingest.max_log_bytes)
    if body is None:
        return 413, f"body larger than {MAX_BODY_BYTES} bytes", []
    text, truncated = log_text(body, max_bytes=ingest.max_log_bytes, truncated=truncated)
    ping = Ping(
        service_id=service_id,
        task=action.task,
        kind=action.kind,
        received_at=utcnow(),
        exit_code=action.exit_code,
        rid=rid,
        log=text,
        log_truncated=truncated,
    )
    try:
        await ingest.store(ping)
    except UnknownTask:
        return 404, f"unknown task {action.task!r} (auto-create is off or at its limit)", []
    except WriterUnavailable as exc:
        log.warning("ping refused: %s", exc)
        return 503, "temporarily unavailable", [(b"retry-after", RETRY_AFTER_UNAVAILABLE)]
    except PingNotStored:  # the writer logged why
        return 503, "could not store the ping", [(b"retry-after", RETRY_AFTER_UNAVAILABLE)]
    except Exception:
        log.exception("ping not stored")
        return 503, "could not store the ping", [(b"retry-after", RETRY_AFTER_UNAVAILABLE)]
    return 200, "", []


def _query_value(query_string: bytes, name: str) -> str | None:
    if not query_string:
        return None
    values = parse_qs(query_string.decode("latin-1"), keep_blank_values=True).get(name)
    return values[-1] if values else None


async def _read_body(receive: Receive, *, keep: int) -> tuple[bytes | None, bool]:
    """(up to ``keep`` bytes of the body, whether more came); None if over the hard limit."""
    chunks: list[bytes] = []
    kept = size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None, True
        if kept < keep and chunk:
            chunks.append(chunk[: keep - kept])
            kept += len(chunks[-1])
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return body, size > keep


async def _respond(
    send: Send,
    status: int,
    detail: str,
    *,
    extra: list[tuple[bytes, bytes]],
    head: bool,
) -> None:
    headers = [*_BASE_HEADERS, *extra]
    if status == 200:
        body = b"OK"
        headers.append((b"content-type", b"text/plain; charset=utf-8"))
    else:
        body = encode_json({"status_code": status, "detail": detail})
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body, "more_body": False})
