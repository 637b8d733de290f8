"""Secrets handed to a real `vigil serve` never show up in what it writes to its output.

The server runs at ``level: DEBUG`` with ``access_log: all`` (the most it ever writes), on
SQLite with JSON lines and on PostgreSQL with text lines. Secrets go in through its settings
(a YAML file and ``VIGIL_*`` variables: the database URL's password, the admin password, the
metrics bearer token, credentials in the OTLP and Prometheus URLs), through channel configs
(webhook signing secret and URL token, SMTP password, Alertmanager bearer token, Slack URL)
whose test sends and outbox deliveries fail, and through requests (login form passwords,
session and CSRF cookies, a forged session cookie, API tokens in ``Authorization``, in the
query string and in ``X-Api-Key``, Basic credentials, ping tokens in the path, secrets in a
ping body, the metrics bearer token). Then not one of them is anywhere in the output, while
the lines that show those code paths ran (access lines, failed deliveries, DEBUG records)
are.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_DSN, _admin_execute
from tests.integration.auth.helpers import csrf_from
from tests.integration.notify.receivers import webhook_receiver
from tests.support.admin_client import issue_api_token, signed_in
from tests.support.server import RunningServer, free_port, vigil_server

ADMIN_EMAIL = "admin@example.com"


def _secret(name: str) -> str:
    """A distinctive value that no redaction rule hides by its look alone, so it is found
    wherever it is written, whatever name it is logged under."""
    return f"{name}{secrets.token_hex(8)}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(database URL, its password or None): SQLite, or a PostgreSQL database of its own
    reached with a password in the URL (the local server trusts loopback, so any works)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}", None
        return
    name = f"vigil_secrets_{secrets.token_hex(4)}"
    asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    password = _secret("dbPass")
    user_host = PG_ADMIN_DSN.removeprefix("postgresql://").rsplit("/", 1)[0]
    user, host = user_host.split("@", 1)
    try:
        yield f"postgresql+asyncpg://{user}:{password}@{host}/{name}", password
    finally:
        asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _exercise(
    base: str, *, admin_password: str, metrics_token: str, dead_url: str
) -> dict[str, str]:
    """Every kind of request that carries a secret; returns the secrets Vigil issued."""
    issued: dict[str, str] = {}
    wrong_password = _secret("wrongPass")
    async with httpx.AsyncClient(base_url=base, timeout=10) as anonymous:
        token = csrf_from(await anonymous.get("/login"))
        failed = await anonymous.post(
            "/login",
            data={"email": ADMIN_EMAIL, "password": wrong_password, "_csrf_token": token},
        )
        assert failed.status_code == 400
        forged = _secret("forgedSession")
        refused = await anonymous.get(
            "/services", headers={"Cookie": f"vigil_session={forged}"}, follow_redirects=False
        )
        assert refused.status_code == 303
        issued["forged session"] = forged
        issued["wrong password"] = wrong_password

    async with signed_in(base, email=ADMIN_EMAIL, password=admin_password) as admin:
        api_token = await issue_api_token(admin)
        issued["API token"] = api_token
        for name, value in admin.cookies.items():
            issued[f"cookie {name}"] = value
        assert (await admin.get("/services")).status_code == 200
        bearer = {"Authorization": f"Bearer {api_token}"}
        async with httpx.AsyncClient(base_url=base, headers=bearer, timeout=10) as api:
            service = (
                await api.post(
                    "/api/v1/services", json={"name": "billing", "base_url": "http://127.0.0.1:9"}
                )
            ).json()
            ping_token = service["ping_token"]
            issued["ping token"] = ping_token
            channels, channel_secrets = await _add_channels(api, dead_url=dead_url)
            issued |= channel_secrets
            for channel_id in channels.values():
                result = await api.post(f"/api/v1/channels/{channel_id}/test")
                assert result.status_code == 200, result.text
                assert result.json()["delivered"] is False
            rule = {
                "name": "Billing task failed",
                "signal": "task_failed",
                "comparison": ">",
                "threshold": 0,
                "channel_ids": list(channels.values()),
            }
            assert (await api.post("/api/v1/rules", json=rule)).status_code == 201

            ping = f"/ping/{ping_token}/invoices"
            issued["ping body password"] = _secret("pingBody")
            body = (
                f"password={issued['ping body password']} done\nAuthorization: Bearer {api_token}"
            )
            assert (await api.head(ping)).status_code == 200
            assert (await api.post(f"{ping}/start?rid=r1")).status_code == 200
            assert (await api.post(f"{ping}/fail?rid=r1", content=body)).status_code == 200
            assert (await api.get(f"{ping}/nope")).status_code == 400
            unknown = _secret("unknownPing")
            assert (await api.get(f"/ping/{unknown}/invoices")).status_code == 404
            issued["unknown ping token"] = unknown

        async with httpx.AsyncClient(base_url=base, timeout=10) as machine:
            for path in ("/api/v1/services", "/sd/prometheus"):
                for key in ("token", "api_key", "access_token"):
                    response = await machine.get(path, params={key: api_token})
                    assert response.status_code == 401, (path, key)
            assert (await machine.get("/sd/prometheus", headers=bearer)).status_code == 200
            key_header = {"X-Api-Key": api_token}
            assert (await machine.get("/api/v1/services", headers=key_header)).status_code == 401
            basic = base64.b64encode(f"admin:{admin_password}".encode()).decode()
            response = await machine.get(
                "/api/v1/services", headers={"Authorization": f"Basic {basic}"}
            )
            assert response.status_code == 401
            issued["Basic credentials"] = basic
            wrong = _secret("wrongBearer")
            response = await machine.get(
                "/api/v1/services", headers={"Authorization": f"Bearer vgl_{wrong}"}
            )
            assert response.status_code == 401
            issued["wrong bearer"] = wrong
            metrics = await machine.get(
                "/metrics", headers={"Authorization": f"Bearer {metrics_token}"}
            )
            assert metrics.status_code == 200
            assert "vigil_http_requests_total" in metrics.text
    return issued


async def _add_channels(
    api: httpx.AsyncClient, *, dead_url: str
) -> tuple[dict[str, int], dict[str, str]]:
    """A channel of each kind whose sends fail (HTTP 500, or no SMTP server): their ids by
    kind, and the secrets in their configs."""
    dead_base = dead_url.removesuffix("/hook")
    hook_token, hook_secret = _secret("hookQuery"), _secret("hookSigning")
    smtp_password, am_token, slack_path = _secret("smtpPass"), _secret("amBearer"), _secret("slack")
    configs = {
        "webhook": {"url": f"{dead_url}?token={hook_token}", "secret": hook_secret},
        "email": {
            "host": "127.0.0.1",
            "port": free_port(),
            "security": "none",
            "username": "vigil",
            "password": smtp_password,
            "from_address": "vigil@example.com",
            "to_addresses": ["oncall@example.com"],
        },
        "alertmanager": {"url": dead_base, "bearer_token": am_token},
        "slack": {"webhook_url": f"{dead_base}/services/T0/B0/{slack_path}"},
    }
    ids: dict[str, int] = {}
    for kind, config in configs.items():
        response = await api.post(
            "/api/v1/channels", json={"name": f"{kind} down", "kind": kind, "config": config}
        )
        assert response.status_code == 201, response.text
        ids[kind] = response.json()["id"]
    return ids, {
        "webhook URL token": hook_token,
        "webhook signing secret": hook_secret,
        "SMTP password": smtp_password,
        "Alertmanager bearer token": am_token,
        "Slack URL": slack_path,
    }


def _wait_for_output(server: RunningServer, text: str, count: int, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.output().count(text) >= count:
            return
        time.sleep(0.25)
    raise AssertionError(f"fewer than {count} {text!r} lines:\n{server.output()[-3000:]}")


def test_no_secret_from_settings_or_requests_reaches_the_log(
    tmp_path: Path, database: tuple[str, str | None]
) -> None:
    url, db_password = database
    json_lines = url.startswith("sqlite")
    admin_password, metrics_token = _secret("adminPass"), _secret("metricsBearer")
    otlp_password, prometheus_password = _secret("otlpPass"), _secret("promPass")
    config = tmp_path / "vigil.yaml"
    config.write_text(
        f"""
telemetry:
  logging:
    level: DEBUG
    format: {"json" if json_lines else "text"}
    access_log: all
  metrics:
    bearer_token: "{metrics_token}"
  tracing:
    enabled: true
    sample_rate: 1.0
    endpoint: "http://otel:{otlp_password}@127.0.0.1:{free_port()}/v1/traces"
    export_timeout_seconds: 0.5
alerts:
  eval_interval_seconds: 1
  create_default_rules: true
  prometheus_url: "http://prom:{prometheus_password}@127.0.0.1:{free_port()}"
notify:
  dispatch_interval_seconds: 1
  timeout_seconds: 2
"""
    )
    env = {
        "VIGIL_CONFIG": str(config),
        "VIGIL_DATABASE__URL": url,
        "VIGIL_ADMIN_EMAIL": ADMIN_EMAIL,
        "VIGIL_ADMIN_PASSWORD": admin_password,
        "VIGIL_TELEMETRY__TRACING__ENABLED": "true",
    }
    with webhook_receiver(status=500) as dead, vigil_server(tmp_path, env=env) as server:
        issued = asyncio.run(
            _exercise(
                server.url,
                admin_password=admin_password,
                metrics_token=metrics_token,
                dead_url=dead.url,
            )
        )
        # Each channel's outbox delivery fails once (the test sends failed already).
        _wait_for_output(server, "notification failed, will retry", 4)
    output = server.output()  # shutdown included
    am_bearer = f"Bearer {issued['Alertmanager bearer token']}"
    assert any(r.headers.get("authorization") == am_bearer for r in dead.requests)  # it was used

    given = {
        "admin password": admin_password,
        "metrics bearer token": metrics_token,
        "OTLP endpoint password": otlp_password,
        "Prometheus URL password": prometheus_password,
    }
    if db_password is not None:
        given["database password"] = db_password
    leaked = {name: value for name, value in (given | issued).items() if value in output}
    assert leaked == {}, f"secrets in the log: {sorted(leaked)}"

    for line in (
        "DEBUG",
        "POST /login 400",
        "POST /login 303",
        "/ping/{token}/invoices",
        "GET /metrics 200",
        "GET /sd/prometheus 401",
    ):
        assert line in output, line
