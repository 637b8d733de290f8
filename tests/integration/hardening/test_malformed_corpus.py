"""Every public endpoint refuses the malformed corpus with a reasoned 4xx and changes nothing.

One test per database sends the whole of :data:`~tests.integration.hardening.corpus.CORPUS`
(RUM ingest, pings, login, Prometheus SD, ``/metrics``, the JSON API) to one app with seeded
data, collects every answer that is not the expected 4xx with its reason, and compares a
snapshot of every table's rows before and after.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any, cast
from urllib.parse import unquote

import pytest
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.tokens import create_token, revoke_token
from app.config import AuthSettings, MetricsSettings, Settings, TelemetrySettings, TracingSettings
from app.db.base import utcnow
from app.db.schema import metadata
from app.main import create_app
from app.rum.ingest import RumIngest
from app.rum.models import Site
from app.services.models import Service
from tests.conftest import make_settings
from tests.integration.auth.helpers import (
    ADMIN_EMAIL,
    VIEWER_EMAIL,
    bearer,
    csrf_token,
    make_user,
)
from tests.integration.hardening.corpus import (
    CHANNEL,
    CORPUS,
    ORIGIN,
    PLACEHOLDERS,
    RULE,
    SILENCE,
    WINDOW,
    Malformed,
)

SITE_KEY = "corpus" + "k" * 10
PING_TOKEN = "tok_" + "c" * 28
METRICS_TOKEN = "metrics-" + "m" * 24
CLIENT_HEADER = "x-corpus-client"
"""Test-only header: :class:`ClientAddress` makes its value the client address the app sees."""
ENDPOINTS = {"rum", "ping", "login", "sd", "metrics", "api"}
_ALERT = re.compile(r'role="alert">(.*?)</div>', re.S)
_TAGS = re.compile(r"<[^>]+>")


class ClientAddress:
    """Sets ``scope["client"]`` from :data:`CLIENT_HEADER`, as a server would from the socket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            for name, value in headers:
                if name == CLIENT_HEADER.encode():
                    scope["client"] = (value.decode("latin-1"), 50000)
            scope["headers"] = [(n, v) for n, v in headers if n != CLIENT_HEADER.encode()]
        await self.app(scope, receive, send)


@pytest.fixture
def settings(db_url: str) -> Settings:
    # A login limit the corpus cannot reach: its bad logins must reach the form's checks.
    return make_settings(
        db_url,
        auth=AuthSettings(login_rate_limit_per_minute=100_000),
        telemetry=TelemetrySettings(
            tracing=TracingSettings(enabled=False),
            metrics=MetricsSettings(bearer_token=METRICS_TOKEN),
        ),
    )


@pytest.fixture
async def values(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """Seed what the corpus aims at (before the app starts, so its caches see it)."""
    admin = await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    viewer = await make_user(sessions, email=VIEWER_EMAIL, role="viewer")
    write = await create_token(sessions, user_id=admin, name="write", scope="write")
    read = await create_token(sessions, user_id=admin, name="read", scope="read")
    viewer_write = await create_token(sessions, user_id=viewer, name="viewer", scope="write")
    revoked = await create_token(sessions, user_id=admin, name="revoked", scope="write")
    await revoke_token(sessions, token_id=revoked.id)
    expired = await create_token(
        sessions,
        user_id=admin,
        name="expired",
        scope="write",
        expires_at=utcnow() - timedelta(days=1),
    )
    async with sessions.begin() as session:
        site = Site(name="Shop", key=SITE_KEY, allowed_origins=[ORIGIN])
        service = Service(
            name="billing",
            base_url="http://127.0.0.1:9",
            metrics_path="/metrics",
            ping_token=PING_TOKEN,
        )
        session.add_all([site, service])
    return {
        "site_key": SITE_KEY,
        "origin": ORIGIN,
        "ping_token": PING_TOKEN,
        "write_token": write.secret,
        "read_token": read.secret,
        "viewer_token": viewer_write.secret,
        "revoked_token": revoked.secret,
        "expired_token": expired.secret,
        "metrics_token": METRICS_TOKEN,
        "truncated_token": write.secret[:-5],
        "metrics_token_prefix": METRICS_TOKEN[:-3],
        "site_id": str(site.id),
        "service_id": str(service.id),
        "site_name": site.name,
        "service_name": service.name,
    }


@pytest.fixture
def app(settings: Settings) -> Litestar:
    app = create_app(settings)
    app.asgi_handler = ClientAddress(app.asgi_handler)
    return app


@pytest.fixture
async def client(values: dict[str, str], app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        yield test_client


async def _create(client: Any, path: str, body: Mapping[str, Any], token: str) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def warm_up(client: Any, values: dict[str, str]) -> None:
    """Accepted requests that write once (CSRF key, token use), and objects to aim at."""
    write = values["write_token"]
    rule = await _create(client, "/api/v1/rules", RULE | {"name": "Shop LCP slow"}, write)
    channel = await _create(client, "/api/v1/channels", CHANNEL | {"name": "ops hook"}, write)
    silence = await _create(client, "/api/v1/silences", SILENCE, write)
    window = await _create(client, "/api/v1/maintenance", WINDOW, write)
    for token in (values["read_token"], values["viewer_token"]):
        assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
    values |= {
        "rule_id": str(rule["id"]),
        "rule_name": rule["name"],
        "channel_id": str(channel["id"]),
        "channel_name": channel["name"],
        "silence_id": str(silence["id"]),
        "window_id": str(window["id"]),
        "csrf": await csrf_token(client),
    }
    assert set(values) == set(PLACEHOLDERS)


def fill(text: str, values: Mapping[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


async def send(client: Any, case: Malformed, values: Mapping[str, str]) -> Response:
    headers = {name: fill(value, values).encode("latin-1") for name, value in case.headers.items()}
    if case.client is not None:
        headers[CLIENT_HEADER] = case.client.encode()
    body = fill(case.body.decode("latin-1"), values).encode("latin-1")
    path = fill(case.path, values)
    if case.chunked:
        # The test client cannot stream a request body: call the app as a server would.
        sent: Response = client.blocking_portal.call(
            send_in_chunks, client.app, case.method, path, headers, body
        )
        return sent
    response: Response = await client.request(case.method, path, headers=headers, content=body)
    return response


async def send_in_chunks(
    app: ASGIApp, method: str, path: str, headers: Mapping[str, bytes], body: bytes
) -> Response:
    """One request whose body arrives in 16 KiB pieces without ``Content-Length``."""
    pieces = [body[start : start + 16_384] for start in range(0, len(body), 16_384)]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver.local")]
        + [(name.lower().encode(), value) for name, value in headers.items()],
        "client": ("testclient", 50000),
        "server": ("testserver.local", 80),
    }
    messages: list[Message] = []

    async def receive() -> Message:
        if not pieces:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": pieces.pop(0), "more_body": bool(pieces)}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(cast("Scope", scope), receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Response(start["status"], headers=start.get("headers", []), content=content)


def reason_of(response: Response) -> str:
    """The reason a refusal gives: JSON ``detail`` (and ``extra``), a page's alert, or text."""
    media_type = response.headers.get("content-type", "")
    if "json" in media_type:
        data = response.json()
        if not isinstance(data, dict):
            return ""
        extra = data.get("extra")
        return " ".join([str(data.get("detail") or ""), json.dumps(extra) if extra else ""]).strip()
    if media_type.startswith("text/html"):
        alert = _ALERT.search(response.text)
        return _TAGS.sub("", alert.group(1)).strip() if alert else ""
    return response.text.strip()


def problem(case: Malformed, response: Response, values: Mapping[str, str]) -> str | None:
    """What is wrong with the answer to ``case``, or None."""
    reason = reason_of(response)
    seen = f"{response.status_code} {reason[:300]!r}"
    if response.status_code >= 500:
        return f"server error: {seen}"
    if response.status_code != case.status:
        return f"expected {case.status}, got {seen}"
    if not reason:
        return f"no reason given: {seen} ({response.headers.get('content-type')})"
    if fill(case.reason, values).lower() not in reason.lower():
        return f"reason lacks {case.reason!r}: {seen}"
    return None


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    """Every row of every table, as sortable text."""
    async with sessions() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in await session.execute(select(table)))
            for table in metadata().sorted_tables
        }


def test_corpus_covers_every_public_endpoint_with_distinct_cases() -> None:
    counts = Counter(case.endpoint for case in CORPUS)
    assert len(CORPUS) >= 200
    assert set(counts) == ENDPOINTS
    assert min(counts.values()) >= 15, counts
    assert len({case.id for case in CORPUS}) == len(CORPUS)
    assert all(400 <= case.status < 500 for case in CORPUS)
    assert all(case.reason for case in CORPUS)
    methods = {(case.endpoint, case.method) for case in CORPUS}
    assert {("rum", "GET"), ("ping", "PUT"), ("login", "PUT"), ("sd", "POST")} <= methods


async def test_malformed_requests_get_a_reasoned_4xx_and_change_nothing(
    client: Any,
    app: Litestar,
    values: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await warm_up(client, values)
    before = await snapshot(sessions)
    seeded = ("users", "api_tokens", "rum_sites", "services", "alert_rules", "auth_secrets")
    assert all(before[table] for table in seeded)  # the snapshot sees what the corpus aims at
    rum: RumIngest = app.state.rum

    problems = []
    for case in CORPUS:
        response = await send(client, case, values)
        if (found := problem(case, response, values)) is not None:
            problems.append(f"{case.id} ({case.method} {case.path[:60]}): {found}")

    assert not problems, f"{len(problems)} of {len(CORPUS)} answered wrongly:\n" + "\n".join(
        problems
    )
    assert rum.accumulator.pending_events == 0
    assert client.blocking_portal.call(rum.flush) == 0
    after = await snapshot(sessions)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, changed
