"""Channel secrets (signing secret, Slack's URL, tokens in URLs, bearer tokens) never reach
the logs, whether a delivery succeeds, fails, or is a test send."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import NotifySettings
from app.db.base import utcnow
from app.notify.channels import get_channel
from app.notify.dispatcher import Dispatcher
from app.notify.outbox import enqueue
from app.notify.probe import send_test
from tests.integration.notify.factories import add_channel, notification
from tests.integration.notify.receivers import webhook_receiver

SLACK_TOKEN = "T0001/B0002/slackSECRETtoken"
QUERY_TOKEN = "querySECRETtoken"
SIGNING_SECRET = "signingSECRETvalue99"
BEARER = "bearerSECRETtoken"
SECRETS = (SLACK_TOKEN, QUERY_TOKEN, SIGNING_SECRET, BEARER)


async def test_no_secret_in_any_log_record(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # Vigil's default level, every library included
    caplog.set_level(logging.DEBUG, logger="app")
    settings = NotifySettings(timeout_seconds=2, max_attempts=2, backoff_base_seconds=0.01)
    with webhook_receiver() as up, webhook_receiver(status=500) as down:
        ids = [
            await add_channel(
                sessions,
                name="slack up",
                kind="slack",
                config={"webhook_url": f"{up.url}/services/{SLACK_TOKEN}"},
            ),
            await add_channel(
                sessions,
                name="hook down",
                config={"url": f"{down.url}?token={QUERY_TOKEN}", "secret": SIGNING_SECRET},
            ),
            await add_channel(
                sessions,
                name="am down",
                kind="alertmanager",
                config={"url": down.url.removesuffix("/hook"), "bearer_token": BEARER},
            ),
        ]
        async with sessions.begin() as session:
            assert await enqueue(session, notification("secret-1")) == 3
        await Dispatcher(sessions, settings, holder="test").run()
        for channel_id in ids:
            channel = await get_channel(sessions, channel_id=channel_id)
            assert channel is not None
            await send_test(
                channel, public_url="http://vigil.test", now=utcnow(), timeout_seconds=2
            )

    assert len(up.delivered) == 2  # the notification and the test
    assert any(r.headers.get("authorization") == f"Bearer {BEARER}" for r in down.requests)
    logged = "\n".join(str(vars(record)) for record in caplog.records)
    assert "receiver answered HTTP 500" in logged  # failures are logged, without secrets
    for secret in SECRETS:
        assert secret not in logged
