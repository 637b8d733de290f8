"""E-mail notifications to a real SMTP server (aiosmtpd), through the outbox."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import NotifySettings
from app.notify.dispatcher import Dispatcher
from app.notify.models import OutboxEntry
from app.notify.outbox import enqueue
from tests.integration.notify.factories import add_channel, notification
from tests.integration.notify.receivers import PASSWORD, USERNAME, smtp_server

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"  # a loopback test server
)
SETTINGS = NotifySettings(timeout_seconds=5, max_attempts=3, backoff_base_seconds=0.05)


def _config(port: int, **changes: object) -> dict[str, object]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "vigil@example.com",
        "to_addresses": ["oncall@example.com", "team@example.com"],
    } | changes


async def _send_one(sessions: async_sessionmaker[AsyncSession]) -> OutboxEntry:
    async with sessions.begin() as session:
        await enqueue(
            session,
            notification("mail-1", labels=[{"service": "shop"}, {"service": "cart"}]),
        )
    await Dispatcher(sessions, SETTINGS, holder="test").run()
    async with sessions() as session:
        return (await session.scalars(select(OutboxEntry))).one()


async def test_mail_reaches_the_smtp_server_with_login(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with smtp_server(require_auth=True) as (port, box):
        await add_channel(
            sessions,
            name="mail",
            kind="email",
            config=_config(port, username=USERNAME, password=PASSWORD),
        )
        row = await _send_one(sessions)

    assert row.status == "sent"
    ((envelope, message),) = box.messages
    assert envelope.mail_from == "vigil@example.com"
    assert envelope.rcpt_tos == ["oncall@example.com", "team@example.com"]
    assert message["Subject"] == "[FIRING:2] ServiceDown (critical)"
    assert message["X-Vigil-Idempotency-Key"] == "mail-1"
    assert message["Message-ID"] == "<mail-1@example.com>"
    body = message.get_payload(decode=True).decode()
    assert 'service="shop" · value 1 · shop is down' in body
    assert 'service="cart"' in body
    assert "http://vigil.test/alerts/rules/1" in body


async def test_wrong_smtp_password_is_dead_and_never_logged(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-password-Kx9"
    caplog.set_level(logging.INFO)  # Vigil's default level, for every library
    caplog.set_level(logging.DEBUG, logger="app")
    with smtp_server(require_auth=True) as (port, box):
        await add_channel(
            sessions,
            name="mail",
            kind="email",
            config=_config(port, username=USERNAME, password=wrong),
        )
        row = await _send_one(sessions)

    assert box.messages == []
    assert row.status == "dead"
    assert row.last_error == "SMTP login failed (535)"
    logged = "\n".join(str(vars(record)) for record in caplog.records)  # extras included
    assert "SMTP login failed (535)" in logged
    assert wrong not in logged
    assert wrong not in (row.last_error or "")


async def test_smtp_server_down_is_retried(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from tests.support.server import free_port

    await add_channel(sessions, name="mail", kind="email", config=_config(free_port()))
    row = await _send_one(sessions)

    assert row.status == "pending"
    assert row.attempts == 1
    assert "cannot talk to the SMTP server" in (row.last_error or "")
