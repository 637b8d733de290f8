"""The applications benchmarks serve: a bare Litestar baseline and Vigil with telemetry off/on.

``bare_app`` is importable by path (``bench.apps:bare_app``) for servers started by CLI, such
as granian. :func:`load_app` builds any of them by name for ``bench._serve`` and
``bench._direct``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from litestar import Litestar, MediaType, Request, get, post
from litestar.exceptions import ValidationException

if TYPE_CHECKING:
    from app.config import Settings

AppName = Literal[
    "bare",
    "vigil-off",
    "vigil-on",
    "vigil-on-collector",
    "vigil-on-access-all",
    "vigil-metrics",
    "vigil-tracing",
    "vigil-logs",
]
APP_NAMES: tuple[AppName, ...] = (
    "vigil-off",
    "vigil-on",
    "vigil-on-collector",
    "vigil-on-access-all",
    "bare",
    "vigil-metrics",
    "vigil-tracing",
    "vigil-logs",
)
TELEMETRY_PARTS: dict[AppName, frozenset[str]] = {
    "vigil-off": frozenset(),
    "vigil-on": frozenset({"metrics", "tracing", "logs"}),
    "vigil-on-collector": frozenset({"metrics", "tracing", "logs"}),
    "vigil-on-access-all": frozenset({"metrics", "tracing", "logs", "access-all"}),
    "vigil-metrics": frozenset({"metrics"}),
    "vigil-tracing": frozenset({"tracing"}),
    "vigil-logs": frozenset({"logs", "access-all"}),
}
"""What each Vigil variant switches on; the one-part variants show each part's cost.
``vigil-on-collector`` is ``vigil-on`` given a live collector's endpoint by the benchmark."""

BARE_JSON_PATH = "/json"
BARE_HTML_PATH = "/html"
BARE_BEACON_PATH = "/beacon"

BARE_HTML = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Vigil</title></head>"
    "<body><main><h1>Sign in</h1><form method=post action=/login>"
    "<label>E-mail <input name=email type=email></label>"
    "<label>Password <input name=password type=password></label>"
    "<button>Sign in</button></form></main></body></html>"
)


class WebVital(msgspec.Struct, forbid_unknown_fields=True):
    """One Web Vitals measurement, with the approved attributes only."""

    name: str
    value: float
    delta: float
    id: str
    rating: str
    page: str
    navigationType: str  # the web-vitals attribute name
    timestamp: int


class Beacon(msgspec.Struct, forbid_unknown_fields=True):
    site: str
    events: list[WebVital]


_EVENT = (
    '{{"name":"LCP","value":1234.5,"delta":1234.5,"id":"v5-1700000000000-1234567890",'
    '"rating":"good","page":"{page}","navigationType":"navigate","timestamp":1700000000000}}'
)
BEACON_BODY_BYTES = 317


def _beacon(page: str) -> bytes:
    return ('{"site":"k","events":[' + _EVENT.format(page=page) + "]}").encode()


def _beacon_body() -> bytes:
    """A realistic beacon (one LCP event), its page path lengthened to make 317 bytes."""
    short = "/products/42"
    page = (short + "/reviews" * 40)[: len(short) + BEACON_BODY_BYTES - len(_beacon(short))]
    body = _beacon(page)
    assert len(body) == BEACON_BODY_BYTES, len(body)
    return body


BEACON_BODY = _beacon_body()
_beacon_decoder = msgspec.json.Decoder(Beacon)


@get(BARE_JSON_PATH, sync_to_thread=False)
def bare_json() -> dict[str, str]:
    return {"status": "ok"}


@get(BARE_HTML_PATH, media_type=MediaType.HTML, sync_to_thread=False)
def bare_html() -> str:
    return BARE_HTML


@post(BARE_BEACON_PATH, status_code=204)
async def bare_beacon(request: Request[Any, Any, Any]) -> None:
    """Strict msgspec decode of the raw body, then 204 (what RUM ingest does first)."""
    try:
        _beacon_decoder.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise ValidationException(str(exc)) from None


# logging_config=None: Litestar's default config would install its own root handler when
# this module is imported, and Vigil's variants (which import it too) would log twice.
bare_app = Litestar(
    route_handlers=[bare_json, bare_html, bare_beacon], logging_config=None, debug=False
)
"""The baseline: a minimal Litestar app, default settings, no middleware, no logging."""


def vigil_settings(*, parts: frozenset[str], db_url: str, otlp_endpoint: str) -> Settings:
    """Vigil's settings for a benchmark: scheduler off, migrations done beforehand, and each
    telemetry part on or off: ``metrics``; ``tracing`` (20 % of traces to ``otlp_endpoint``);
    ``logs`` (JSON at INFO with the shipped ``access_log: errors``; else WARNING, no access
    log); ``access-all`` (every request in the access log)."""
    from app.config import Settings

    logs = "logs" in parts
    raw = {
        "server": {"environment": "bench"},
        "database": {"url": db_url, "auto_upgrade": False},
        "scheduler": {"enabled": False},
        "telemetry": {
            "logging": {
                "level": "INFO" if logs else "WARNING",
                "format": "json",
                "access_log": "all" if "access-all" in parts else "errors" if logs else "off",
            },
            "metrics": {"enabled": "metrics" in parts},
            "tracing": {
                "enabled": "tracing" in parts,
                "endpoint": otlp_endpoint,
                "sample_rate": 0.2,
            },
        },
    }
    # Validated like a settings file, so a renamed or retyped key fails here, loudly.
    return msgspec.convert(raw, Settings)


def load_app(name: AppName, *, db_url: str = "", otlp_endpoint: str = "") -> Litestar:
    """The app called ``name``; Vigil's logging is configured as ``vigil serve`` does it
    (records go to stderr, which benchmark runners send to a file)."""
    if name == "bare":
        return bare_app
    from app.main import create_app
    from app.telemetry import configure_logging

    settings = vigil_settings(
        parts=TELEMETRY_PARTS[name], db_url=db_url, otlp_endpoint=otlp_endpoint
    )
    configure_logging(settings.telemetry.logging)
    return create_app(settings)


async def migrate_database(db_url: str) -> None:
    """Create a fresh database at ``db_url`` and migrate it to head."""
    from app.config import DatabaseSettings
    from app.db import migrate
    from app.db.engine import create_engine

    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine = create_engine(DatabaseSettings(url=db_url))
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
