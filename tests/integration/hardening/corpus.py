"""Malformed requests to every public endpoint, as data (see ``test_malformed_corpus``).

Each :class:`Malformed` is one request Vigil must refuse with the given 4xx and a reason
containing ``reason``, changing nothing. Paths, headers and bodies may hold placeholders
that the test fills in from the data it seeded (``{site_key}``, ``{ping_token}``,
``{write_token}``, ``{csrf}``, ``{site_id}``, ...): see :data:`PLACEHOLDERS`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

PLACEHOLDERS: Final = (
    "site_key",
    "origin",
    "ping_token",
    "write_token",
    "read_token",
    "viewer_token",
    "revoked_token",
    "expired_token",
    "metrics_token",
    "truncated_token",
    "metrics_token_prefix",
    "csrf",
    "site_id",
    "service_id",
    "rule_id",
    "channel_id",
    "silence_id",
    "window_id",
    "site_name",
    "service_name",
    "rule_name",
    "channel_name",
)

ORIGIN: Final = "https://shop.example.com"
BROWSER: Final = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
RUM_MAX_BODY: Final = 65_536
"""``rum.max_body_bytes``: the default, which the test keeps."""
PING_MAX_BODY: Final = 1_048_576
"""``app.tasks.routes.MAX_BODY_BYTES``."""


@dataclass(frozen=True, slots=True)
class Malformed:
    """One bad request and how Vigil must refuse it."""

    endpoint: str
    """The public endpoint aimed at: ``rum``, ``ping``, ``login``, ``sd``, ``metrics``, ``api``."""
    name: str
    method: str
    path: str
    status: int
    reason: str
    """Text the refusal's reason must contain (case-insensitive)."""
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    chunked: bool = False
    """Send the body in pieces without ``Content-Length``."""
    client: str | None = None
    """The client address the app sees (the test client's own, ``testclient``, if None)."""

    @property
    def id(self) -> str:
        return f"{self.endpoint}:{self.name}"


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# ---------------------------------------------------------------- RUM ingest

RUM_PATH: Final = "/rum/v1/{site_key}"
RUM_HEADERS: Final = {
    "Origin": "{origin}",
    "Content-Type": "text/plain;charset=UTF-8",
    "User-Agent": BROWSER,
}
LCP: Final = {
    "name": "LCP",
    "value": 2312.5,
    "delta": 2312.5,
    "id": "v5-1700000000000-8123456789012",
    "rating": "good",
    "navigationType": "navigate",
    "timestamp": 1700000001234,
}


def _beacon(*, event: Mapping[str, Any] | None = None, **top: Any) -> bytes:
    body: dict[str, Any] = {"page": "https://shop.example.com/orders/42", "vw": 390}
    body["events"] = [dict(LCP if event is None else event)]
    body.update(top)
    return json.dumps(body).encode()


def _event(**changes: Any) -> dict[str, Any]:
    return {k: v for k, v in (LCP | changes).items() if v is not _DROP}


_DROP: Final = object()
"""Marks a field to leave out of an event."""


def _rum(
    name: str,
    body: bytes,
    status: int = 400,
    reason: str = "",
    *,
    path: str = RUM_PATH,
    method: str = "POST",
    headers: Mapping[str, str | None] | None = None,
    chunked: bool = False,
) -> Malformed:
    sent = {k: v for k, v in (RUM_HEADERS | dict(headers or {})).items() if v is not None}
    return Malformed("rum", name, method, path, status, reason, body, sent, chunked)


_RUM_BODIES: Final = [
    # Not JSON, or not a beacon at all.
    ("not-json", b"not json", "malformed"),
    ("empty-body", b"", "truncated"),
    ("truncated-json", b'{"page":"/","events":[', "truncated"),
    ("trailing-garbage", _beacon() + b"}}", "trailing"),
    ("invalid-utf8", b'{"page":"\xff\xfe","events":[]}', "utf-8"),
    ("json-array", b"[]", "expected `object`"),
    ("json-string", b'"LCP"', "expected `object`"),
    ("json-null", b"null", "expected `object`"),
    ("json-number", b"42", "expected `object`"),
    ("deeply-nested", b"[" * 5000 + b"]" * 5000, "expected `object`"),
    ("form-encoded-body", b"page=%2F&name=LCP&value=1", "malformed"),
    # Missing, unknown or wrongly typed top-level fields.
    ("empty-object", b"{}", "missing required field `page`"),
    ("no-events", _json({"page": "/"}), "missing required field `events`"),
    ("events-empty", _beacon(events=[]), "$.events"),
    ("events-object", _beacon(events={"name": "LCP"}), "$.events"),
    ("events-null", _beacon(events=None), "$.events"),
    ("too-many-events", _beacon(events=[LCP] * 51), "$.events"),
    ("event-null", _beacon(events=[None]), "$.events[0]"),
    ("event-array", _beacon(events=[["LCP", 1]]), "$.events[0]"),
    ("page-empty", _beacon(page=""), "$.page"),
    ("page-too-long", _beacon(page="/" + "a" * 2048), "$.page"),
    ("page-number", _beacon(page=42), "$.page"),
    ("page-null", _beacon(page=None), "$.page"),
    ("vw-negative", _beacon(vw=-1), "$.vw"),
    ("vw-too-large", _beacon(vw=100_001), "$.vw"),
    ("vw-float", _beacon(vw=390.5), "$.vw"),
    ("vw-string", _beacon(vw="390"), "$.vw"),
    ("unknown-top-field", _beacon(extra=1), "unknown field `extra`"),
    ("user-agent-field", _beacon(userAgent=BROWSER), "unknown field `userAgent`"),
    ("ip-field", _beacon(ip="203.0.113.9"), "unknown field `ip`"),
    ("cookie-field", _beacon(cookie="vigil_session=x"), "unknown field `cookie`"),
    # Bad events.
    ("event-unknown-field", _beacon(event=_event(url="/x")), "unknown field `url`"),
    ("event-no-name", _beacon(event=_event(name=_DROP)), "missing required field `name`"),
    ("event-no-value", _beacon(event=_event(value=_DROP)), "missing required field `value`"),
    ("event-unknown-metric", _beacon(event=_event(name="FID")), "$.events[0].name"),
    ("event-lowercase-metric", _beacon(event=_event(name="lcp")), "$.events[0].name"),
    ("event-name-number", _beacon(event=_event(name=1)), "$.events[0].name"),
    ("value-string", _beacon(event=_event(value="12")), "$.events[0].value"),
    ("value-bool", _beacon(event=_event(value=True)), "$.events[0].value"),
    ("value-null", _beacon(event=_event(value=None)), "$.events[0].value"),
    ("value-negative", _beacon(event=_event(value=-1)), "$.events[0].value"),
    ("value-over-an-hour", _beacon(event=_event(value=3_600_001)), "$.events[0].value"),
    ("value-huge", _beacon(event=_event(value=1e308)), "$.events[0].value"),
    (
        "value-nan",
        b'{"page":"/","events":[{"name":"LCP","value":NaN}]}',
        "malformed",
    ),
    (
        "value-infinity",
        b'{"page":"/","events":[{"name":"LCP","value":Infinity}]}',
        "malformed",
    ),
    (
        "value-overflowing-literal",
        b'{"page":"/","events":[{"name":"LCP","value":1e400}]}',
        "$.events[0].value",
    ),
    ("cls-over-100", _beacon(event=_event(name="CLS", value=101)), "$.events[0].value"),
    ("delta-too-large", _beacon(event=_event(delta=3_600_001)), "$.events[0].delta"),
    ("delta-too-small", _beacon(event=_event(delta=-3_600_001)), "$.events[0].delta"),
    ("id-too-long", _beacon(event=_event(id="v" * 129)), "$.events[0].id"),
    ("id-number", _beacon(event=_event(id=5)), "$.events[0].id"),
    ("rating-unknown", _beacon(event=_event(rating="great")), "$.events[0].rating"),
    (
        "navigation-type-unknown",
        _beacon(event=_event(navigationType="teleport")),
        "$.events[0].navigationType",
    ),
    ("timestamp-negative", _beacon(event=_event(timestamp=-1)), "$.events[0].timestamp"),
    ("timestamp-too-large", _beacon(event=_event(timestamp=2.0**54)), "$.events[0].timestamp"),
    (
        "second-event-bad",
        _beacon(events=[LCP, _event(name="CLS", value="x")]),
        "$.events[1].value",
    ),
]

RUM: Final = [
    *(_rum(name, body, 400, reason) for name, body, reason in _RUM_BODIES),
    # Size: by Content-Length before reading, and while reading a chunked body.
    _rum("oversize-body", b"x" * (RUM_MAX_BODY + 1), 413, str(RUM_MAX_BODY)),
    _rum("oversize-beacon", _beacon(page="/" + "a" * RUM_MAX_BODY), 413, str(RUM_MAX_BODY)),
    _rum("oversize-chunked", b"x" * (RUM_MAX_BODY * 2), 413, str(RUM_MAX_BODY), chunked=True),
    # Media types other than text/plain and application/json.
    *(
        _rum(f"content-type-{label}", _beacon(), 415, "text/plain", headers={"Content-Type": ct})
        for label, ct in [
            ("html", "text/html"),
            ("form", "application/x-www-form-urlencoded"),
            ("multipart", "multipart/form-data; boundary=x"),
            ("xml", "application/xml"),
            ("octet-stream", "application/octet-stream"),
            ("json-patch", "application/json-patch+json"),
            ("missing", None),
        ]
    ),
    # Unknown site keys: nothing about the site is told.
    *(
        _rum(f"site-{label}", _beacon(), 404, "unknown site key", path=path)
        for label, path in [
            ("unknown-key", "/rum/v1/" + "z" * 16),
            ("no-key", "/rum/v1/"),
            ("key-with-slash", "/rum/v1/{site_key}/extra"),
            ("key-with-nul", "/rum/v1/%00{site_key}"),
            ("key-sql", "/rum/v1/'%20OR%20'1'='1"),
            ("key-unicode", "/rum/v1/%C3%BC%C3%B1%C3%AF"),
            ("key-very-long", "/rum/v1/" + "k" * 5000),
        ]
    ),
    # Origins the site does not allow (CORS is the site's list, exactly).
    *(
        _rum(f"origin-{label}", _beacon(), 403, "origin not allowed", headers={"Origin": origin})
        for label, origin in [
            ("other-site", "https://evil.example"),
            ("missing", None),
            ("null", "null"),
            ("http-instead-of-https", "http://shop.example.com"),
            ("other-port", "https://shop.example.com:8443"),
            ("suffix-domain", "https://shop.example.com.evil.example"),
            ("subdomain", "https://cdn.shop.example.com"),
            ("empty", ""),
        ]
    ),
    _rum(
        "preflight-other-origin",
        b"",
        403,
        "origin not allowed",
        method="OPTIONS",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    ),
    _rum(
        "preflight-unknown-site",
        b"",
        404,
        "unknown site key",
        method="OPTIONS",
        path="/rum/v1/" + "z" * 16,
        headers={"Access-Control-Request-Method": "POST"},
    ),
    # Methods other than POST (and the OPTIONS preflight).
    *(
        _rum(f"method-{m.lower()}", _beacon(), 405, "POST", method=m)
        for m in ("GET", "PUT", "DELETE", "PATCH")
    ),
]


# ---------------------------------------------------------------- task pings

PING_BASE: Final = "/ping/{ping_token}"
_ACTION_HINT: Final = "exit status 0-255"
_TASK_HINT: Final = "task name must be"


def _ping(
    name: str,
    path: str,
    status: int,
    reason: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    chunked: bool = False,
) -> Malformed:
    return Malformed("ping", name, method, path, status, reason, body, {}, chunked)


PINGS: Final = [
    # Exit statuses outside 0-255, and actions that do not exist.
    *(
        _ping(f"exit-{label}", f"{PING_BASE}/backup/{suffix}", 400, _ACTION_HINT)
        for label, suffix in [
            ("256", "256"),
            ("999", "999"),
            ("minus-one", "-1"),
            ("text", "abc"),
            ("float", "1.5"),
            ("hex", "0x1"),
            ("four-digits", "1000"),
            ("leading-zeros", "00001"),
            ("plus-sign", "+1"),
            ("exponent", "1e2"),
            ("space", "%201"),
            ("arabic-digit", "%D9%A3"),
            ("unknown-action", "stop"),
            ("uppercase-start", "START"),
        ]
    ),
    *(
        _ping(f"action-{label}", f"{PING_BASE}/backup/{suffix}", 400, "ping URL must be")
        for label, suffix in [
            ("start-with-extra", "start/x"),
            ("fail-with-code", "fail/1"),
            ("exit-then-more", "0/0"),
        ]
    ),
    # Task names outside 1-100 of [A-Za-z0-9_.-] starting with a letter or digit.
    *(
        _ping(f"task-{label}", f"{PING_BASE}/{task}", 400, _TASK_HINT)
        for label, task in [
            ("dash-first", "-backup"),
            ("dot-first", ".backup"),
            ("underscore-first", "_backup"),
            ("too-long", "x" * 101),
            ("space", "nightly%20backup"),
            ("unicode", "sauvegarde-%C3%A9t%C3%A9"),
            ("semicolon", "a;b"),
            ("quote", "a'b"),
            ("nul", "a%00b"),
            ("html", "%3Cscript%3E"),
            ("percent", "a%25b"),
        ]
    ),
    _ping("task-missing", f"{PING_BASE}/", 400, "ping URL must be"),
    _ping("task-missing-no-slash", PING_BASE, 400, "ping URL must be"),
    # Run ids.
    *(
        _ping(f"rid-{label}", f"{PING_BASE}/backup/start?rid={rid}", 400, "rid must be")
        for label, rid in [
            ("space", "a%20b"),
            ("too-long", "r" * 65),
            ("unicode", "%C3%A9"),
            ("slash", "a%2Fb"),
            ("html", "%3Cx%3E"),
            ("nul", "%00"),
            ("last-of-two-bad", "ok&rid=b%20ad"),
        ]
    ),
    # Tokens that are no service's: answered alike, whatever they look like.
    *(
        _ping(f"token-{label}", f"/ping/{token}/backup", 404, "unknown ping token")
        for label, token in [
            ("unknown", "tok_" + "z" * 28),
            ("empty", ""),
            ("very-long", "t" * 5000),
            ("nul", "tok_%00"),
            ("sql", "'%20OR%20'1'='1"),
            ("unicode", "%E2%9C%93"),
            ("case-changed", "TOK_" + "A" * 28),
            ("api-token-instead", "{write_token}"),
        ]
    ),
    _ping(
        "token-unknown-oversize-body",
        "/ping/" + "tok_" + "z" * 28 + "/backup",
        404,
        "unknown ping token",
        method="POST",
        body=b"x" * (PING_MAX_BODY + 1),
    ),
    # Methods other than GET, POST, HEAD.
    *(
        _ping(f"method-{m.lower()}", f"{PING_BASE}/backup", 405, "use GET, POST or HEAD", method=m)
        for m in ("PUT", "DELETE", "PATCH", "OPTIONS")
    ),
    # Bodies over the hard limit (up to tasks.max_log_bytes of a smaller one is kept).
    _ping(
        "oversize-body",
        f"{PING_BASE}/backup/fail",
        413,
        str(PING_MAX_BODY),
        method="POST",
        body=b"x" * (PING_MAX_BODY + 1),
    ),
    _ping(
        "oversize-chunked",
        f"{PING_BASE}/backup",
        413,
        str(PING_MAX_BODY),
        method="POST",
        body=b"log line\n" * (PING_MAX_BODY // 8),
        chunked=True,
    ),
]


# ---------------------------------------------------------------- login

FORM: Final = {"Content-Type": "application/x-www-form-urlencoded"}
_LOGIN_FAILED: Final = "Invalid e-mail or password"
_CSRF_FAILED: Final = "CSRF"


def _login(
    name: str,
    body: bytes,
    status: int = 400,
    reason: str = _LOGIN_FAILED,
    *,
    headers: Mapping[str, str] = FORM,
    method: str = "POST",
    path: str = "/login",
) -> Malformed:
    return Malformed("login", name, method, path, status, reason, body, headers)


def _form(**fields: str) -> bytes:
    from urllib.parse import urlencode

    return urlencode({"_csrf_token": "{csrf}"} | fields).encode().replace(b"%7Bcsrf%7D", b"{csrf}")


LOGIN: Final = [
    # CSRF: the double-submit token is missing or does not match the cookie.
    _login("csrf-missing", b"email=admin%40example.com&password=x", 403, _CSRF_FAILED),
    _login(
        "csrf-wrong",
        b"_csrf_token=forged&email=admin%40example.com&password=x",
        403,
        _CSRF_FAILED,
    ),
    _login("csrf-empty", b"_csrf_token=&email=admin%40example.com&password=x", 403, _CSRF_FAILED),
    _login(
        "csrf-wrong-header",
        b"email=admin%40example.com&password=x",
        403,
        _CSRF_FAILED,
        headers=FORM | {"X-CSRF-Token": "forged"},
    ),
    _login("csrf-empty-body", b"", 403, _CSRF_FAILED),
    _login(
        "csrf-json-body",
        _json({"email": "admin@example.com", "password": "x"}),
        403,
        _CSRF_FAILED,
        headers={"Content-Type": "application/json"},
    ),
    # Missing, wrong, huge or odd fields (with a valid CSRF token).
    _login("fields-missing", _form()),
    _login("password-missing", _form(email="admin@example.com")),
    _login("email-missing", _form(password="correct horse battery")),
    _login("wrong-password", _form(email="admin@example.com", password="wrong")),
    _login("unknown-user", _form(email="nobody@example.com", password="correct horse battery")),
    _login("email-huge", _form(email="a" * 200_000 + "@example.com", password="x")),
    _login("password-huge", _form(email="admin@example.com", password="p" * 200_000)),
    _login(
        "email-with-nul",
        _form(email="admin@example.com\x00", password="x"),
        reason="form field `email` contains a NUL",
    ),
    _login(
        "password-with-nul",
        _form(email="admin@example.com", password="correct\x00horse"),
        reason="form field `password` contains a NUL",
    ),
    _login("email-sql", _form(email="' OR '1'='1' --", password="' OR '1'='1")),
    _login("email-unicode", _form(email="ädmin@exämple.com", password="x")),
    _login(
        "next-javascript",
        _form(email="admin@example.com", password="wrong", next="javascript:alert(1)"),
    ),
    _login(
        "next-other-host", _form(email="admin@example.com", password="wrong", next="//evil.example")
    ),
    _login(
        "email-twice",
        _form(email="nobody@example.com", password="x") + b"&email=admin%40example.com",
        reason="email",
    ),
    _login("bad-percent-encoding", _form(password="y") + b"&email=%zz%"),
    _login("non-utf8-form", _form(password="x") + b"&email=%ff%fe"),
    _login(
        "wrong-content-type-text",
        _form(email="admin@example.com", password="correct horse battery"),
        headers={"Content-Type": "text/plain"},
        status=403,
        reason=_CSRF_FAILED,
    ),
    # Methods the login route does not have.
    *(
        _login(f"method-{m.lower()}", _form(), 405, "method not allowed", method=m)
        for m in ("PUT", "DELETE", "PATCH")
    ),
]


# ---------------------------------------------------------------- Prometheus SD

SD_PATH: Final = "/sd/prometheus"


def _sd(
    name: str, authorization: str | None, status: int = 401, reason: str = "", method: str = "GET"
) -> Malformed:
    headers = {} if authorization is None else {"Authorization": authorization}
    return Malformed("sd", name, method, SD_PATH, status, reason, b"", headers)


_MISSING: Final = "missing API token"
_INVALID: Final = "invalid, expired or revoked API token"

SD: Final = [
    _sd("no-token", None, reason=_MISSING),
    _sd("empty-header", "", reason=_MISSING),
    _sd("bearer-without-token", "Bearer ", reason=_MISSING),
    _sd("bearer-only", "Bearer", reason=_MISSING),
    _sd("unknown-token", "Bearer vgl_" + "x" * 43, reason=_INVALID),
    _sd("not-a-vigil-token", "Bearer abc.def.ghi", reason=_INVALID),
    _sd("token-prefix-only", "Bearer vgl_", reason=_INVALID),
    _sd("token-truncated", "Bearer {truncated_token}", reason=_INVALID),
    _sd("token-very-long", "Bearer vgl_" + "x" * 10_000, reason=_INVALID),
    _sd("revoked-token", "Bearer {revoked_token}", reason=_INVALID),
    _sd("expired-token", "Bearer {expired_token}", reason=_INVALID),
    _sd("basic-scheme", "Basic YWRtaW46cGFzc3dvcmQ=", reason=_MISSING),
    _sd("token-scheme", "Token {write_token}", reason=_MISSING),
    _sd("bare-non-vigil-token", "abcdef", reason=_MISSING),
    _sd("two-bare-tokens", "{write_token} {read_token}", reason=_MISSING),
    _sd("metrics-token", "Bearer {metrics_token}", reason=_INVALID),
    _sd("ping-token", "Bearer {ping_token}", reason=_INVALID),
    _sd("latin1-token", "Bearer vgl_\xe9t\xe9", reason=_INVALID),
    _sd("post", "Bearer {read_token}", 405, "method not allowed", method="POST"),
    _sd("delete", "Bearer {write_token}", 405, "method not allowed", method="DELETE"),
]


# ---------------------------------------------------------------- Vigil's /metrics

METRICS_PATH: Final = "/metrics"
_SEND_TOKEN: Final = "send Authorization: Bearer"
_BAD_TOKEN: Final = "invalid bearer token"


def _metrics(
    name: str,
    authorization: str | None,
    status: int = 401,
    reason: str = _BAD_TOKEN,
    *,
    client: str | None = None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> Malformed:
    sent = dict(headers or {}) | ({} if authorization is None else {"Authorization": authorization})
    return Malformed(
        "metrics", name, method, METRICS_PATH, status, reason, b"", sent, False, client
    )


METRICS: Final = [
    _metrics("no-token", None, reason=_SEND_TOKEN),
    _metrics("wrong-token", "Bearer not-the-token"),
    _metrics("empty-bearer", "Bearer "),
    _metrics("basic-scheme", "Basic YWRtaW46cGFzc3dvcmQ="),
    _metrics("token-without-scheme", "{metrics_token}"),
    _metrics("token-prefix", "Bearer {metrics_token_prefix}"),
    _metrics("token-with-suffix", "Bearer {metrics_token}x"),
    _metrics("api-token-instead", "Bearer {write_token}"),
    _metrics(
        "forwarded-for-loopback", None, reason=_SEND_TOKEN, headers={"X-Forwarded-For": "127.0.0.1"}
    ),
    _metrics("real-ip-loopback", None, reason=_SEND_TOKEN, headers={"X-Real-IP": "::1"}),
    _metrics("private-address", None, reason=_SEND_TOKEN, client="10.1.2.3"),
    _metrics("ipv4-mapped-private", None, reason=_SEND_TOKEN, client="::ffff:10.0.0.1"),
    _metrics("unspecified-address", None, reason=_SEND_TOKEN, client="0.0.0.0"),
    _metrics("host-name-localhost", None, reason=_SEND_TOKEN, client="localhost"),
    _metrics("lookalike-address", None, reason=_SEND_TOKEN, client="127.0.0.1.evil.example"),
    _metrics("public-address-bad-token", "Bearer nope", client="203.0.113.7"),
    _metrics("post", "Bearer {metrics_token}", 405, "method not allowed", method="POST"),
]


# ---------------------------------------------------------------- JSON API

JSON: Final = {"Content-Type": "application/json"}
_AUTH: Final = {"Authorization": "Bearer {write_token}"}


def _api(
    name: str,
    method: str,
    path: str,
    body: Any,
    status: int = 400,
    reason: str = "",
    *,
    headers: Mapping[str, str] | None = None,
) -> Malformed:
    raw = body if isinstance(body, bytes) else _json(body)
    sent = _AUTH | JSON | dict(headers or {})
    return Malformed("api", name, method, path, status, reason, raw, sent)


SITE: Final = {"name": "Blog", "allowed_origins": ["https://blog.example.com"]}
SERVICE: Final = {"name": "cart", "base_url": "http://127.0.0.1:9"}
RULE: Final = {
    "name": "Blog LCP slow",
    "signal": "web_vital_p75",
    "params": {"metric": "LCP"},
    "comparison": ">",
    "threshold": 4000,
}
SILENCE: Final = {
    "matchers": [{"name": "team", "op": "=", "value": "web"}],
    "ends_at": "2099-01-01T00:00:00Z",
    "comment": "planned",
}
WINDOW: Final = {
    "name": "Sunday patching",
    "kind": "weekly",
    "weekday": 6,
    "start_time": "02:30",
    "duration_minutes": 60,
    "timezone": "Europe/Paris",
}
CHANNEL: Final = {
    "name": "second hook",
    "kind": "webhook",
    "config": {"url": "https://hooks.example.com/other", "secret": "hook-secret-0123456789"},
}


def _bodies(
    prefix: str, method: str, path: str, cases: list[tuple[str, Any, int, str]]
) -> list[Malformed]:
    return [
        _api(f"{prefix}-{name}", method, path, body, status, reason)
        for name, body, status, reason in cases
    ]


_COMMON_JSON_ERRORS: Final = [
    ("not-json", b"{not json", 400, "malformed"),
    ("invalid-utf8", b'{"name": "\xff\xfe"}', 400, "utf-8"),
    ("empty-body", b"", 400, "validation failed"),
    ("json-array", b"[]", 400, "expected `object`"),
    ("json-null", b"null", 400, "expected `object`"),
    ("truncated", b'{"name": "x"', 400, "truncated"),
]

API: Final = [
    # Sites.
    *_bodies(
        "site-create",
        "POST",
        "/api/v1/sites",
        [
            *_COMMON_JSON_ERRORS,
            ("unknown-field", SITE | {"colour": "red"}, 400, "colour"),
            ("name-missing", {"allowed_origins": []}, 400, "name"),
            ("name-number", SITE | {"name": 7}, 400, "name"),
            ("name-empty", SITE | {"name": ""}, 400, "name"),
            ("name-blank", SITE | {"name": "   "}, 400, "name"),
            ("name-too-long", SITE | {"name": "n" * 1000}, 400, "name"),
            ("name-with-nul", SITE | {"name": "Blog\u0000"}, 400, "`$.name` contains a NUL"),
            (
                "origin-with-nul",
                SITE | {"allowed_origins": ["https://blog\u0000.example.com"]},
                400,
                "`$.allowed_origins[0]` contains a NUL",
            ),
            ("deeply-nested", b"[" * 5000 + b"]" * 5000, 400, "nested too deeply"),
            ("name-taken", SITE | {"name": "{site_name}"}, 409, "{site_name}"),
            (
                "origins-not-list",
                SITE | {"allowed_origins": "https://blog.example.com"},
                400,
                "allowed_origins",
            ),
            (
                "origin-with-path",
                SITE | {"allowed_origins": ["https://blog.example.com/x"]},
                400,
                "path",
            ),
            ("origin-not-url", SITE | {"allowed_origins": ["blog"]}, 400, "origin"),
            (
                "origin-with-password",
                SITE | {"allowed_origins": ["https://u:p@blog.example.com"]},
                400,
                "password",
            ),
            (
                "origin-bad-port",
                SITE | {"allowed_origins": ["https://blog.example.com:99999"]},
                400,
                "port",
            ),
            (
                "too-many-origins",
                SITE | {"allowed_origins": [f"https://s{i}.example.com" for i in range(500)]},
                400,
                "allowed_origins",
            ),
            ("sample-rate-zero", SITE | {"sample_rate": 0}, 400, "sample_rate"),
            ("sample-rate-above-one", SITE | {"sample_rate": 1.5}, 400, "sample_rate"),
            ("sample-rate-string", SITE | {"sample_rate": "all"}, 400, "sample_rate"),
            ("page-cap-zero", SITE | {"page_cap": 0}, 400, "page_cap"),
            ("page-cap-huge", SITE | {"page_cap": 10**12}, 400, "page_cap"),
            ("page-cap-float", SITE | {"page_cap": 1.5}, 400, "page_cap"),
        ],
    ),
    *_bodies(
        "site-patch",
        "PATCH",
        "/api/v1/sites/{site_id}",
        [
            ("not-json", b"{not json", 400, "malformed"),
            ("unknown-field", {"key": "mine"}, 400, "key"),
            ("name-null", {"name": None}, 400, "name"),
            ("origins-number", {"allowed_origins": 1}, 400, "allowed_origins"),
            ("sample-rate-negative", {"sample_rate": -0.1}, 400, "sample_rate"),
        ],
    ),
    _api("site-patch-unknown-id", "PATCH", "/api/v1/sites/987654", {"name": "x"}, 404, "987654"),
    _api("site-get-unknown-id", "GET", "/api/v1/sites/987654", b"", 404, "987654"),
    _api(
        "site-get-huge-id", "GET", "/api/v1/sites/99999999999999999999", b"", 400, "<= 2147483647"
    ),
    _api(
        "site-delete-huge-id",
        "DELETE",
        "/api/v1/sites/99999999999999999999",
        b"",
        400,
        "<= 2147483647",
    ),
    _api(
        "site-get-int32-overflow-id", "GET", "/api/v1/sites/2147483648", b"", 400, "<= 2147483647"
    ),
    _api(
        "site-patch-huge-id",
        "PATCH",
        "/api/v1/sites/99999999999999999999",
        {"name": "x"},
        400,
        "<= 2147483647",
    ),
    _api("site-get-negative-id", "GET", "/api/v1/sites/-1", b"", 400, ">= 1"),
    _api("site-get-text-id", "GET", "/api/v1/sites/abc", b"", 404, "not found"),
    _api(
        "site-regenerate-unknown-id",
        "POST",
        "/api/v1/sites/987654/regenerate-key",
        b"",
        404,
        "987654",
    ),
    # Services.
    *_bodies(
        "service-create",
        "POST",
        "/api/v1/services",
        [
            *_COMMON_JSON_ERRORS,
            ("unknown-field", SERVICE | {"ping_token": "mine"}, 400, "ping_token"),
            ("name-missing", {"base_url": "http://127.0.0.1:9"}, 400, "name"),
            ("base-url-missing", {"name": "cart"}, 400, "base_url"),
            ("name-with-nul", SERVICE | {"name": "cart\u0000"}, 400, "`$.name` contains a NUL"),
            (
                "label-name-with-nul",
                SERVICE | {"labels": {"te\u0000am": "x"}},
                400,
                "`$.labels` contains a NUL",
            ),
            ("name-taken", SERVICE | {"name": "{service_name}"}, 409, "{service_name}"),
            ("base-url-ftp", SERVICE | {"base_url": "ftp://127.0.0.1/"}, 400, "base"),
            ("base-url-not-url", SERVICE | {"base_url": "not a url"}, 400, "base"),
            ("base-url-number", SERVICE | {"base_url": 8080}, 400, "base_url"),
            ("base-url-bad-port", SERVICE | {"base_url": "http://127.0.0.1:70000"}, 400, "base"),
            (
                "base-url-too-long",
                SERVICE | {"base_url": "http://a.example/" + "p" * 5000},
                400,
                "base_url",
            ),
            ("health-path-no-slash", SERVICE | {"health_path": "healthz"}, 400, "health"),
            (
                "health-path-too-long",
                SERVICE | {"health_path": "/" + "h" * 5000},
                400,
                "health_path",
            ),
            ("metrics-path-query", SERVICE | {"metrics_path": "/metrics?x=1"}, 400, "query"),
            ("expected-status-99", SERVICE | {"expected_status": 99}, 400, "expected_status"),
            ("expected-status-600", SERVICE | {"expected_status": 600}, 400, "expected_status"),
            ("expected-status-text", SERVICE | {"expected_status": "ok"}, 400, "expected_status"),
            ("interval-zero", SERVICE | {"interval_seconds": 0}, 400, "interval_seconds"),
            ("timeout-zero", SERVICE | {"timeout_seconds": 0}, 400, "timeout_seconds"),
            ("timeout-negative", SERVICE | {"timeout_seconds": -5}, 400, "timeout_seconds"),
            (
                "timeout-over-interval",
                SERVICE | {"interval_seconds": 30, "timeout_seconds": 60},
                400,
                "timeout",
            ),
            ("labels-list", SERVICE | {"labels": ["team"]}, 400, "labels"),
            ("label-value-number", SERVICE | {"labels": {"team": 1}}, 400, "labels"),
            ("label-name-invalid", SERVICE | {"labels": {"bad-name": "x"}}, 400, "label"),
            ("label-reserved", SERVICE | {"labels": {"vigil_service": "x"}}, 400, "vigil_service"),
            ("enabled-string", SERVICE | {"enabled": "yes"}, 400, "enabled"),
        ],
    ),
    _api(
        "service-create-text-plain",
        "POST",
        "/api/v1/services",
        SERVICE,
        415,
        "application/json",
        headers={"Content-Type": "text/plain"},
    ),
    _api(
        "service-create-form",
        "POST",
        "/api/v1/services",
        b"name=cart&base_url=http%3A%2F%2Fx",
        415,
        "application/json",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    *_bodies(
        "service-patch",
        "PATCH",
        "/api/v1/services/{service_id}",
        [
            ("not-json", b"{not json", 400, "malformed"),
            ("unknown-field", {"state": "up"}, 400, "state"),
            ("interval-text", {"interval_seconds": "often"}, 400, "interval_seconds"),
            ("base-url-javascript", {"base_url": "javascript:alert(1)"}, 400, "base"),
            ("labels-too-many", {"labels": {f"l{i}": "x" for i in range(200)}}, 400, "labels"),
        ],
    ),
    _api(
        "service-patch-unknown-id",
        "PATCH",
        "/api/v1/services/987654",
        {"enabled": False},
        404,
        "987654",
    ),
    _api(
        "service-get-huge-id",
        "GET",
        "/api/v1/services/99999999999999999999",
        b"",
        400,
        "<= 2147483647",
    ),
    _api(
        "service-regenerate-unknown-id",
        "POST",
        "/api/v1/services/987654/regenerate-token",
        b"",
        404,
        "987654",
    ),
    # Alert rules.
    *_bodies(
        "rule-create",
        "POST",
        "/api/v1/rules",
        [
            *_COMMON_JSON_ERRORS,
            ("unknown-field", RULE | {"priority": 1}, 400, "priority"),
            ("signal-unknown", RULE | {"signal": "vibes"}, 400, "signal"),
            ("signal-number", RULE | {"signal": 5}, 400, "signal"),
            ("comparison-bad", RULE | {"comparison": "=>"}, 400, "comparison"),
            ("threshold-text", RULE | {"threshold": "lots"}, 400, "threshold"),
            ("threshold-null", RULE | {"threshold": None}, 400, "threshold"),
            ("threshold-list", RULE | {"threshold": [1]}, 400, "threshold"),
            ("params-list", RULE | {"params": ["LCP"]}, 400, "params"),
            ("params-unknown", RULE | {"params": {"metric": "LCP", "colour": 1}}, 400, "params"),
            ("metric-unknown", RULE | {"params": {"metric": "XYZ"}}, 400, "metric"),
            ("for-bad", RULE | {"for": "soon"}, 400, "for"),
            ("for-negative", RULE | {"for": -5}, 400, "for"),
            ("severity-bad", RULE | {"severity": "apocalyptic"}, 400, "severity"),
            ("label-name-bad", RULE | {"labels": {"bad-name": "x"}}, 400, "labels"),
            (
                "annotation-template-bad",
                RULE | {"annotations": {"summary": "{{ $value "}},
                400,
                "summary",
            ),
            ("no-data-bad", RULE | {"no_data": "panic"}, 400, "no_data"),
            ("channel-unknown", RULE | {"channel_ids": [987654]}, 400, "987654"),
            ("channel-ids-text", RULE | {"channel_ids": ["x"]}, 400, "channel"),
            ("channel-id-over-int32", RULE | {"channel_ids": [2**31]}, 400, "channel"),
            ("name-blank", RULE | {"name": "  "}, 400, "name"),
            ("name-with-nul", RULE | {"name": "LCP\u0000"}, 400, "`$.name` contains a NUL"),
            (
                "annotation-with-nul",
                RULE | {"annotations": {"summary": "slow\u0000"}},
                400,
                "`$.annotations.summary` contains a NUL",
            ),
            ("name-taken", RULE | {"name": "{rule_name}"}, 409, "{rule_name}"),
            (
                "promql-unclosed",
                {
                    "name": "q",
                    "signal": "promql",
                    "params": {"query": "sum(rate(x[5m])"},
                    "threshold": 1,
                },
                400,
                "unclosed",
            ),
        ],
    ),
    *_bodies(
        "rule-patch",
        "PATCH",
        "/api/v1/rules/{rule_id}",
        [
            ("not-json", b"{not json", 400, "malformed"),
            ("unknown-field", {"id": 1}, 400, "id"),
            ("threshold-text", {"threshold": "high"}, 400, "threshold"),
            ("enabled-text", {"enabled": "perhaps"}, 400, "enabled"),
        ],
    ),
    _api("rule-patch-unknown-id", "PATCH", "/api/v1/rules/987654", {"threshold": 1}, 404, "987654"),
    _api("rule-enable-unknown-id", "POST", "/api/v1/rules/987654/enable", b"", 404, "987654"),
    _api("rule-duplicate-unknown-id", "POST", "/api/v1/rules/987654/duplicate", b"", 404, "987654"),
    _api(
        "rule-get-huge-id", "GET", "/api/v1/rules/99999999999999999999", b"", 400, "<= 2147483647"
    ),
    # Silences and maintenance windows.
    *_bodies(
        "silence-create",
        "POST",
        "/api/v1/silences",
        [
            *_COMMON_JSON_ERRORS,
            ("unknown-field", SILENCE | {"author": "me"}, 400, "author"),
            (
                "matchers-missing",
                {k: v for k, v in SILENCE.items() if k != "matchers"},
                400,
                "matchers",
            ),
            ("matchers-empty", SILENCE | {"matchers": []}, 400, "matcher"),
            (
                "matcher-op-bad",
                SILENCE | {"matchers": [{"name": "team", "op": "~~", "value": "x"}]},
                400,
                "op",
            ),
            (
                "matcher-regex-bad",
                SILENCE | {"matchers": [{"name": "team", "op": "=~", "value": "("}]},
                400,
                "regular expression",
            ),
            ("ends-at-naive", SILENCE | {"ends_at": "2099-01-01T00:00:00"}, 400, "ends_at"),
            ("ends-at-text", SILENCE | {"ends_at": "tomorrow"}, 400, "ends_at"),
            (
                "comment-with-nul",
                SILENCE | {"comment": "\u0000"},
                400,
                "`$.comment` contains a NUL",
            ),
            ("ends-at-past", SILENCE | {"ends_at": "2001-01-01T00:00:00Z"}, 400, "ends"),
            ("ends-before-start", SILENCE | {"starts_at": "2099-02-01T00:00:00Z"}, 400, "ends"),
        ],
    ),
    _api("silence-expire-unknown-id", "POST", "/api/v1/silences/987654/expire", b"", 404, "987654"),
    *_bodies(
        "window-create",
        "POST",
        "/api/v1/maintenance",
        [
            *_COMMON_JSON_ERRORS,
            ("kind-bad", WINDOW | {"kind": "daily"}, 400, "kind"),
            ("name-with-nul", WINDOW | {"name": "patch\u0000"}, 400, "`$.name` contains a NUL"),
            ("weekday-seven", WINDOW | {"weekday": 7}, 400, "weekday"),
            ("start-time-bad", WINDOW | {"start_time": "25:00"}, 400, "start_time"),
            ("timezone-bad", WINDOW | {"timezone": "Mars/Olympus_Mons"}, 400, "timezone"),
            ("duration-zero", WINDOW | {"duration_minutes": 0}, 400, "duration"),
            ("once-without-times", {"name": "x", "kind": "once"}, 400, "starts_at"),
            ("unknown-service", WINDOW | {"service_id": 987654}, 400, "987654"),
            ("service-id-huge", WINDOW | {"service_id": -(10**21)}, 400, "service_id"),
            ("service-id-over-int32", WINDOW | {"service_id": 2**31}, 400, "service_id"),
        ],
    ),
    _api("window-delete-unknown-id", "DELETE", "/api/v1/maintenance/987654", b"", 404, "987654"),
    # Notification channels.
    *_bodies(
        "channel-create",
        "POST",
        "/api/v1/channels",
        [
            *_COMMON_JSON_ERRORS,
            ("unknown-field", CHANNEL | {"owner": "me"}, 400, "owner"),
            ("kind-unknown", CHANNEL | {"kind": "pager"}, 400, "kind"),
            ("config-missing", {"name": "x", "kind": "webhook"}, 400, "config"),
            (
                "config-with-nul",
                CHANNEL
                | {"config": {"url": "https://hooks.example.com/\u0000", "secret": "s" * 20}},
                400,
                "`$.config.url` contains a NUL",
            ),
            ("config-list", CHANNEL | {"config": ["https://x"]}, 400, "config"),
            ("webhook-url-missing", CHANNEL | {"config": {}}, 400, "url"),
            (
                "webhook-url-ftp",
                CHANNEL | {"config": {"url": "ftp://hooks.example.com", "secret": "s" * 20}},
                400,
                "url",
            ),
            (
                "slack-url-bad",
                {"name": "s", "kind": "slack", "config": {"webhook_url": "not a url"}},
                400,
                "url",
            ),
            ("email-config-empty", {"name": "e", "kind": "email", "config": {}}, 400, "host"),
            ("severities-text", CHANNEL | {"severities": "critical"}, 400, "severities"),
            (
                "matcher-op-bad",
                CHANNEL | {"label_matchers": [{"name": "a", "op": "~", "value": "b"}]},
                400,
                "op",
            ),
            ("name-taken", CHANNEL | {"name": "{channel_name}"}, 409, "{channel_name}"),
        ],
    ),
    *_bodies(
        "channel-patch",
        "PATCH",
        "/api/v1/channels/{channel_id}",
        [
            ("not-json", b"{not json", 400, "malformed"),
            ("unknown-field", {"secret": "x"}, 400, "secret"),
            ("enabled-text", {"enabled": "no"}, 400, "enabled"),
        ],
    ),
    _api("channel-test-unknown-id", "POST", "/api/v1/channels/987654/test", b"", 404, "987654"),
    # API tokens.
    *_bodies(
        "token-create",
        "POST",
        "/api/v1/tokens",
        [
            *_COMMON_JSON_ERRORS,
            ("unknown-field", {"name": "ci", "user_id": 1}, 400, "user_id"),
            ("scope-admin", {"name": "ci", "scope": "admin"}, 400, "scope"),
            ("name-empty", {"name": ""}, 400, "name"),
            ("name-with-nul", {"name": "ci\u0000"}, 400, "`$.name` contains a NUL"),
            ("name-too-long", {"name": "n" * 101}, 400, "name"),
            ("expires-zero", {"name": "ci", "expires_in_days": 0}, 400, "expires_in_days"),
            ("expires-huge", {"name": "ci", "expires_in_days": 100_000}, 400, "expires_in_days"),
        ],
    ),
    _api("token-revoke-unknown-id", "DELETE", "/api/v1/tokens/987654", b"", 404, "987654"),
    # Who may call: no token, a bad one, a read token writing, a viewer's token writing.
    _api(
        "no-token",
        "GET",
        "/api/v1/sites",
        b"",
        401,
        "missing API token",
        headers={"Authorization": ""},
    ),
    _api(
        "bad-token",
        "GET",
        "/api/v1/services",
        b"",
        401,
        "invalid",
        headers={"Authorization": "Bearer vgl_nope"},
    ),
    _api(
        "revoked-token",
        "GET",
        "/api/v1/me",
        b"",
        401,
        "invalid",
        headers={"Authorization": "Bearer {revoked_token}"},
    ),
    _api(
        "read-token-writes",
        "POST",
        "/api/v1/sites",
        SITE,
        403,
        "does not allow POST",
        headers={"Authorization": "Bearer {read_token}"},
    ),
    _api(
        "viewer-writes",
        "POST",
        "/api/v1/rules",
        RULE,
        403,
        "requires role admin",
        headers={"Authorization": "Bearer {viewer_token}"},
    ),
    _api("unknown-route", "GET", "/api/v1/nothing-here", b"", 404, "not found"),
    _api("method-not-allowed", "PUT", "/api/v1/sites", SITE, 405, "method not allowed"),
]


CORPUS: Final[list[Malformed]] = [*RUM, *PINGS, *LOGIN, *SD, *METRICS, *API]
"""Every malformed request, in the order the test sends them."""
