"""/api/v1/channels: CRUD with bearer tokens, masked secrets, reasoned 400s, the test send."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.notify.channels import list_channels
from tests.integration.auth.helpers import token_headers
from tests.integration.notify.receivers import webhook_receiver

SECRET = "hook-secret-4f9a2c71d0"
SLACK_URL_TOKEN = "T000/B000/XXXXsecretXXXX"


@pytest.fixture
async def write(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    return await token_headers(sessions, scope="write")


def _webhook(url: str = "https://hooks.example.com/vigil", **changes: Any) -> dict[str, Any]:
    return {
        "name": "ops hook",
        "kind": "webhook",
        "config": {"url": url, "secret": SECRET},
        "severities": ["critical", "warning"],
        "label_matchers": [{"name": "team", "op": "=~", "value": "ops|sre"}],
    } | changes


async def test_create_read_update_and_delete_with_secrets_masked(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post("/api/v1/channels", json=_webhook(), headers=write)
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["config"] == {"url": "https://hooks.example.com/vigil", "secret": "********"}
    assert channel["severities"] == ["critical", "warning"]
    assert channel["label_matchers"] == [{"name": "team", "op": "=~", "value": "ops|sre"}]
    assert SECRET not in created.text

    listed = await client.get("/api/v1/channels", headers=write)
    assert [c["name"] for c in listed.json()] == ["ops hook"]
    assert SECRET not in listed.text

    # Changing the URL without sending the secret (or sending it masked) keeps the secret.
    patched = await client.patch(
        f"/api/v1/channels/{channel['id']}",
        json={"config": {"url": "https://other.example.com/in", "secret": "********"}},
        headers=write,
    )
    assert patched.status_code == 200, patched.text
    (stored,) = await list_channels(sessions)
    assert stored.config == {"url": "https://other.example.com/in", "secret": SECRET}

    deleted = await client.delete(f"/api/v1/channels/{channel['id']}", headers=write)
    assert deleted.status_code == 204
    assert await list_channels(sessions) == []
    missing = await client.get(f"/api/v1/channels/{channel['id']}", headers=write)
    assert missing.status_code == 404


async def test_slack_url_and_email_password_are_masked(client: Any, write: dict[str, str]) -> None:
    slack = await client.post(
        "/api/v1/channels",
        json={
            "name": "slack",
            "kind": "slack",
            "config": {"webhook_url": f"https://hooks.slack.com/services/{SLACK_URL_TOKEN}"},
        },
        headers=write,
    )
    mail = await client.post(
        "/api/v1/channels",
        json={
            "name": "mail",
            "kind": "email",
            "config": {
                "host": "smtp.example.com",
                "username": "vigil",
                "password": "smtp-pass-xyz",
                "from_address": "vigil@example.com",
                "to_addresses": ["oncall@example.com"],
            },
        },
        headers=write,
    )
    assert slack.status_code == 201, slack.text
    assert mail.status_code == 201, mail.text
    assert slack.json()["config"] == {"webhook_url": "https://hooks.slack.com/********"}
    assert mail.json()["config"]["password"] == "********"
    assert mail.json()["config"]["port"] == 587
    listed = (await client.get("/api/v1/channels", headers=write)).text
    assert SLACK_URL_TOKEN not in listed
    assert "smtp-pass-xyz" not in listed


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_webhook("ftp://hooks.example.com"), "config.url: expected an http:// or https:// URL"),
        (
            _webhook() | {"config": {"url": "https://x.example.com", "secret": "short"}},
            "config.secret: expected at least 16 characters",
        ),
        (_webhook() | {"kind": "pager"}, "kind"),
        (
            _webhook() | {"severities": ["Critical!"]},
            "severities: 'critical!' is not one of critical, warning, info",
        ),
        (
            _webhook() | {"label_matchers": [{"name": "team", "op": "=~", "value": "(ops"}]},
            "invalid regular expression",
        ),
        (
            _webhook() | {"label_matchers": [{"name": "team", "op": "~", "value": "x"}]},
            "label_matchers[0].op: expected one of =, !=, =~, !~",
        ),
        (
            _webhook() | {"config": {"url": "https://x.example.com", "secret": SECRET, "x": 1}},
            "config: object contains unknown field `x`",
        ),
        (
            {
                "name": "mail",
                "kind": "email",
                "config": {
                    "host": "smtp.example.com",
                    "port": 70000,
                    "from_address": "vigil@example.com",
                    "to_addresses": ["oncall@example.com"],
                },
            },
            "config.port: expected `int` <= 65535",
        ),
        (
            {
                "name": "mail",
                "kind": "email",
                "config": {
                    "host": "smtp.example.com",
                    "from_address": "vigil@example.com",
                    "to_addresses": ["oncall"],
                },
            },
            "config.to_addresses[0]: expected an e-mail address",
        ),
        (
            {"name": "am", "kind": "alertmanager", "config": {"url": "alertmanager:9093"}},
            "config.url: expected an http:// or https:// URL",
        ),
    ],
)
async def test_bad_channels_get_400_with_the_reason_and_nothing_is_saved(
    client: Any,
    write: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    reason: str,
) -> None:
    response = await client.post("/api/v1/channels", json=body, headers=write)

    assert response.status_code == 400, response.text
    assert reason in response.text
    assert await list_channels(sessions) == []


async def test_duplicate_name_is_409_and_bad_patch_changes_nothing(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = (await client.post("/api/v1/channels", json=_webhook(), headers=write)).json()
    again = await client.post("/api/v1/channels", json=_webhook(), headers=write)
    assert again.status_code == 409
    assert "exists" in again.json()["detail"]

    bad = await client.patch(
        f"/api/v1/channels/{first['id']}",
        json={"name": "renamed", "config": {"url": "nope"}},
        headers=write,
    )
    assert bad.status_code == 400
    (stored,) = await list_channels(sessions)
    assert stored.name == "ops hook"
    assert stored.config["url"] == "https://hooks.example.com/vigil"


async def test_read_token_and_viewer_cannot_change_channels(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    read = await token_headers(sessions, scope="read")
    viewer_write = await token_headers(sessions, scope="write", role="viewer")

    assert (await client.get("/api/v1/channels", headers=read)).status_code == 200
    assert (await client.post("/api/v1/channels", json=_webhook(), headers=read)).status_code == 403
    refused = await client.post("/api/v1/channels", json=_webhook(), headers=viewer_write)
    assert refused.status_code == 403
    assert (await client.get("/api/v1/channels")).status_code == 401
    assert await list_channels(sessions) == []


async def test_send_test_reports_delivery_and_failure_without_leaking_the_secret(
    client: Any, write: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with webhook_receiver() as receiver:
        created = await client.post("/api/v1/channels", json=_webhook(receiver.url), headers=write)
        channel_id = created.json()["id"]
        ok = await client.post(f"/api/v1/channels/{channel_id}/test", headers=write)
        assert ok.json() == {"delivered": True, "error": None}
        (request,) = receiver.requests
        assert request.signature_ok(SECRET)
        assert request.json()["rule_name"] == "VigilTestNotification"

        receiver.status = 500
        failed = await client.post(f"/api/v1/channels/{channel_id}/test", headers=write)
    assert failed.json() == {"delivered": False, "error": "receiver answered HTTP 500: ok"}
    logged = "\n".join(str(vars(record)) for record in caplog.records)
    assert SECRET not in logged
