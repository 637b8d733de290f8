"""The channel and notification pages: admins create, edit, test, delete and retry;
viewers read without edit controls; bad input is shown at its field and saves nothing."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.notify.channels import get_channel, list_channels
from app.notify.dispatcher import Dispatcher
from app.notify.notifications import count_by_status
from app.notify.outbox import enqueue
from tests.integration.auth.helpers import (
    VIEWER_EMAIL,
    login,
    make_user,
    page_token,
)
from tests.integration.notify.factories import add_channel, notification
from tests.integration.notify.receivers import webhook_receiver

SECRET = "page-secret-0b1c2d3e4f"


def _form(url: str = "https://hooks.example.com/in", **changes: str) -> dict[str, Any]:
    return {
        "name": "ops hook",
        "kind": "webhook",
        "config.url": url,
        "config.secret": SECRET,
        "severities": ["critical", "warning"],
        "label_matchers": "team=~ops|sre\nenv!=dev",
        "enabled": "on",
    } | changes


async def test_admin_creates_a_webhook_channel_and_sees_it_masked(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await page_token(admin, "/admin/channels/new")
    created = await admin.post(
        "/admin/channels", data=_form() | {"_csrf_token": token}, follow_redirects=False
    )

    assert created.status_code == 303, created.text
    (channel,) = await list_channels(sessions)
    assert created.headers["location"] == f"/admin/channels/{channel.id}?created=1"
    assert channel.config == {"url": "https://hooks.example.com/in", "secret": SECRET}
    assert channel.severities == ["critical", "warning"]
    assert channel.label_matchers == [
        {"name": "team", "op": "=~", "value": "ops|sre"},
        {"name": "env", "op": "!=", "value": "dev"},
    ]
    shown = await admin.get(created.headers["location"])
    assert "Channel created." in shown.text
    assert "********" in shown.text
    assert SECRET not in shown.text
    listed = await admin.get("/admin/channels")
    assert "ops hook" in listed.text
    assert SECRET not in listed.text


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"config.url": "hooks.example.com"}, "config.url", "expected an http:// or https:// URL"),
        ({"config.secret": "short"}, "config.secret", "expected at least 16 characters"),
        ({"name": " "}, "name", "give the channel a name"),
        ({"label_matchers": "team ~ ops"}, "label_matchers", "line 1: expected name=value"),
        ({"label_matchers": "team=~(ops"}, "label_matchers", "invalid regular expression"),
    ],
)
async def test_bad_form_input_is_shown_at_its_field_and_nothing_is_saved(
    admin: Any,
    sessions: async_sessionmaker[AsyncSession],
    changes: dict[str, str],
    field: str,
    reason: str,
) -> None:
    token = await page_token(admin, "/admin/channels/new")
    response = await admin.post("/admin/channels", data=_form(**changes) | {"_csrf_token": token})

    assert response.status_code == 400
    text = html.unescape(response.text)
    assert reason in text
    error_id = field.replace(".", "-") + "-error"
    assert f'aria-describedby="{error_id}"' in text
    assert f'<p class="field-error" id="{error_id}">' in text
    assert SECRET not in text  # the secret typed is not echoed back
    assert await list_channels(sessions) == []


async def test_email_port_must_be_a_number(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await page_token(admin, "/admin/channels/new?kind=email")
    response = await admin.post(
        "/admin/channels",
        data={
            "_csrf_token": token,
            "name": "mail",
            "kind": "email",
            "config.host": "smtp.example.com",
            "config.port": "five",
            "config.security": "starttls",
            "config.from_address": "vigil@example.com",
            "config.to_addresses": "oncall@example.com\nteam@example.com",
        },
    )
    assert response.status_code == 400
    assert "config.port: expected a whole number" in response.text
    assert await list_channels(sessions) == []


async def test_kind_fields_partial_swaps_the_inputs(admin: Any) -> None:
    email = await admin.get("/admin/channels/fields?kind=email", headers={"HX-Request": "true"})
    alertmanager = await admin.get("/admin/channels/fields?kind=alertmanager")

    assert email.status_code == 200
    assert 'name="config.host"' in email.text
    assert 'name="config.to_addresses"' in email.text
    assert "<html" not in email.text
    assert 'name="config.url"' in alertmanager.text
    assert 'name="config.bearer_token"' in alertmanager.text


async def test_editing_without_retyping_the_secret_keeps_it(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    channel_id = await add_channel(
        sessions, name="hook", config={"url": "https://a.example.com/", "secret": SECRET}
    )
    edit = await admin.get(f"/admin/channels/{channel_id}/edit")
    assert SECRET not in edit.text
    assert "set; leave empty to keep" in edit.text

    saved = await admin.post(
        f"/admin/channels/{channel_id}",
        data=_form("https://b.example.com/", **{"config.secret": "", "name": "hook"})
        | {"_csrf_token": await page_token(admin, f"/admin/channels/{channel_id}/edit")},
        follow_redirects=False,
    )

    assert saved.status_code == 303, saved.text
    channel = await get_channel(sessions, channel_id=channel_id)
    assert channel is not None
    assert channel.config == {"url": "https://b.example.com/", "secret": SECRET}


async def test_send_test_button_shows_the_result(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with webhook_receiver() as receiver:
        channel_id = await add_channel(
            sessions, name="hook", config={"url": receiver.url, "secret": SECRET}
        )
        token = await page_token(admin, f"/admin/channels/{channel_id}")
        ok = await admin.post(
            f"/admin/channels/{channel_id}/test",
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
        receiver.status = 503
        failed = await admin.post(f"/admin/channels/{channel_id}/test", data={"_csrf_token": token})

    assert ok.status_code == 200
    assert "Delivered." in ok.text
    assert "<html" not in ok.text  # HTMX gets the result alone
    assert "Not delivered:" in failed.text
    assert "receiver answered HTTP 503" in failed.text
    assert "<html" in failed.text  # a plain form post gets the whole page
    assert len(receiver.requests) == 2


async def test_delete_asks_first_then_deletes(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    channel_id = await add_channel(sessions, name="hook")
    async with sessions.begin() as session:
        assert await enqueue(session, notification("to-be-deleted")) == 1
    confirm = await admin.get(f"/admin/channels/{channel_id}/delete")
    assert "Delete hook?" in confirm.text
    assert await list_channels(sessions) != []

    deleted = await admin.post(
        f"/admin/channels/{channel_id}/delete",
        data={"_csrf_token": await page_token(admin, f"/admin/channels/{channel_id}/delete")},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert await list_channels(sessions) == []
    assert (await count_by_status(sessions))["pending"] == 0  # its outbox rows went with it


async def test_dead_notifications_are_listed_with_their_error_and_can_be_retried(
    admin: Any, sessions: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    with webhook_receiver(status=410) as receiver:
        await add_channel(sessions, name="hook", config={"url": receiver.url, "secret": SECRET})
        async with sessions.begin() as session:
            await enqueue(session, notification("dead-1"))
        await Dispatcher(sessions, settings.notify, holder="test").run()

        listed = await admin.get("/admin/notifications")
        assert "Dead (given up)" in listed.text
        assert "receiver answered HTTP 410" in listed.text
        assert "ServiceDown" in listed.text
        entry_id = listed.text.split("/admin/notifications/")[1].split("/retry")[0]

        retried = await admin.post(
            f"/admin/notifications/{entry_id}/retry",
            data={"_csrf_token": await page_token(admin, "/admin/notifications")},
            follow_redirects=False,
        )
        assert retried.status_code == 303
        receiver.status = 200
        await Dispatcher(sessions, settings.notify, holder="test").run()

    after = await admin.get("/admin/notifications")
    assert "Every notification has been delivered." in after.text
    assert receiver.delivered_keys() == {"dead-1": 1}


async def test_viewer_reads_channels_without_edit_controls(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    channel_id = await add_channel(sessions, name="hook")
    await make_user(sessions, email=VIEWER_EMAIL, role="viewer")
    await login(client, email=VIEWER_EMAIL)

    listed = await client.get("/admin/channels")
    one = await client.get(f"/admin/channels/{channel_id}")
    notifications = await client.get("/admin/notifications")

    assert listed.status_code == one.status_code == notifications.status_code == 200
    assert "Add a channel" not in listed.text
    assert "Send test notification" not in one.text
    assert "Edit hook" not in one.text
    assert (await client.get("/admin/channels/new")).status_code == 403
    token = await page_token(client, "/admin/channels")
    refused = await client.post(f"/admin/channels/{channel_id}/delete", data={"_csrf_token": token})
    assert refused.status_code == 403
    assert await list_channels(sessions) != []
