"""The dispatcher against a real local webhook server, on both databases.

Covers the delivery contract: signed and keyed requests, retries with backoff while the
receiver is down (each notification delivered, none twice), dead rows after the limit,
rows left behind by a killed Vigil, and two dispatchers racing for the same rows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import NotifySettings
from app.db.base import utcnow
from app.notify.dispatcher import Dispatcher
from app.notify.messages import AlertNotification
from app.notify.models import Channel, OutboxEntry
from app.notify.notifications import retry_dead
from app.notify.outbox import enqueue
from app.telemetry import VigilMetrics
from tests.integration.notify.factories import add_channel, notification
from tests.integration.notify.receivers import WebhookReceiver, webhook_receiver

SECRET = "webhook-secret-0123456789"
FAST = NotifySettings(timeout_seconds=2, max_attempts=5, backoff_base_seconds=0.05)


async def _webhook(sessions: async_sessionmaker[AsyncSession], receiver: WebhookReceiver) -> int:
    return await add_channel(sessions, name="hook", config={"url": receiver.url, "secret": SECRET})


async def _enqueue(
    sessions: async_sessionmaker[AsyncSession], *notifications: AlertNotification
) -> None:
    async with sessions.begin() as session:
        for item in notifications:
            await enqueue(session, item)


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxEntry]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def _sample(metrics: VigilMetrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "vigil_notifications_total", {"channel_kind": "webhook", "outcome": outcome}
    )
    return value or 0.0


async def _drain(dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Run the dispatcher until nothing is pending (backoff waits are short in FAST)."""
    for _ in range(200):
        await dispatcher.run()
        if all(r.status in ("sent", "dead") for r in await _rows(sessions)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("outbox not drained")


async def test_webhook_gets_signed_json_with_idempotency_key(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    metrics = VigilMetrics(CollectorRegistry())
    with webhook_receiver() as receiver:
        await _webhook(sessions, receiver)
        await _enqueue(sessions, notification("k-1"))

        result = await Dispatcher(sessions, FAST, holder="test", metrics=metrics).run()

    assert result.sent == 1
    (request,) = receiver.requests
    assert request.signature_ok(SECRET)
    assert not request.signature_ok("another-secret-0000000")
    assert request.headers["x-vigil-idempotency-key"] == "k-1"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["rule_name"] == "ServiceDown"
    assert body["status"] == "firing"
    assert body["series"][0]["labels"] == {"service": "shop"}
    (row,) = await _rows(sessions)
    assert (row.status, row.attempts, row.claimed_by, row.last_error) == ("sent", 1, None, None)
    assert row.sent_at is not None
    assert _sample(metrics, "sent") == 1


async def test_receiver_down_then_back_gets_every_notification_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    metrics = VigilMetrics(CollectorRegistry())
    receiver = WebhookReceiver()
    await _webhook(sessions, receiver)  # not started: connection refused
    keys = [f"k-{i}" for i in range(6)]
    await _enqueue(sessions, *(notification(key) for key in keys))
    dispatcher = Dispatcher(sessions, FAST, holder="test", metrics=metrics)

    first = await dispatcher.run()
    assert first.retried == 6
    assert first.sent == 0
    rows = await _rows(sessions)
    assert all(r.status == "pending" and r.attempts == 1 for r in rows)
    assert all("cannot reach the receiver" in (r.last_error or "") for r in rows)
    assert all(r.next_attempt_at > utcnow() - timedelta(seconds=1) for r in rows)

    receiver.start()
    receiver.fail_next = 2  # it comes back shaky: two 503s first
    try:
        await _drain(dispatcher, sessions)
    finally:
        receiver.stop()

    assert receiver.delivered_keys() == {key: 1 for key in keys}
    assert all(r.status == "sent" for r in await _rows(sessions))
    assert _sample(metrics, "sent") == 6
    assert _sample(metrics, "failed") == 8


async def test_row_is_dead_after_max_attempts_and_retry_sends_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = NotifySettings(timeout_seconds=2, max_attempts=3, backoff_base_seconds=0.01)
    with webhook_receiver(status=500) as receiver:
        await _webhook(sessions, receiver)
        await _enqueue(sessions, notification("k-dead"))
        dispatcher = Dispatcher(sessions, settings, holder="test")
        await _drain(dispatcher, sessions)

        (row,) = await _rows(sessions)
        assert (row.status, row.attempts) == ("dead", 3)
        assert row.last_error == "receiver answered HTTP 500: ok"
        assert len(receiver.requests) == 3

        receiver.status = 200
        assert await retry_dead(sessions, entry_id=row.id, now=utcnow())
        assert not await retry_dead(sessions, entry_id=row.id, now=utcnow())  # not dead now
        await _drain(dispatcher, sessions)

    (row,) = await _rows(sessions)
    assert (row.status, row.attempts) == ("sent", 1)
    assert receiver.delivered_keys() == {"k-dead": 1}


async def test_client_error_is_permanent_and_goes_dead_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_receiver(status=404) as receiver:
        await _webhook(sessions, receiver)
        await _enqueue(sessions, notification("k-404"))
        result = await Dispatcher(sessions, FAST, holder="test").run()

    assert result.dead == 1
    (row,) = await _rows(sessions)
    assert (row.status, row.attempts) == ("dead", 1)
    assert len(receiver.requests) == 1


async def test_disabled_channel_rows_go_dead_with_the_reason(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_receiver() as receiver:
        channel_id = await _webhook(sessions, receiver)
        await _enqueue(sessions, notification("k-off"))
        async with sessions.begin() as session:
            await session.execute(
                update(Channel).where(Channel.id == channel_id).values(enabled=False)
            )
        await Dispatcher(sessions, FAST, holder="test").run()

    (row,) = await _rows(sessions)
    assert (row.status, row.last_error) == ("dead", "the channel is disabled")
    assert receiver.requests == []


async def test_rows_of_a_killed_vigil_are_delivered_by_the_next_dispatcher(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_receiver() as receiver:
        await _webhook(sessions, receiver)
        await _enqueue(sessions, *(notification(f"k-{i}") for i in range(4)))
        # The old process claimed two rows and died before sending; its claim expires.
        killed = Dispatcher(sessions, FAST, holder="killed", batch_size=2, claim_seconds=1.0)
        claimed = await killed.claim(now=utcnow())
        assert len(claimed) == 2
        assert (await Dispatcher(sessions, FAST, holder="early").run()).sent == 2  # pending ones
        await asyncio.sleep(1.1)
        rows = await _rows(sessions)
        assert [r.status for r in rows] == ["sending", "sending", "sent", "sent"]
        assert rows[0].claimed_by == "killed"
        assert rows[0].claimed_until < utcnow()

        result = await Dispatcher(sessions, FAST, holder="restarted").run()

    assert result.sent == 2
    assert receiver.delivered_keys() == {f"k-{i}": 1 for i in range(4)}
    rows = await _rows(sessions)
    assert all(r.status == "sent" for r in rows)
    assert [r.attempts for r in rows] == [2, 2, 1, 1]


async def test_unexpired_claim_is_left_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_receiver() as receiver:
        await _webhook(sessions, receiver)
        await _enqueue(sessions, notification("k-held"))
        held = await Dispatcher(sessions, FAST, holder="busy").claim(now=utcnow())
        assert len(held) == 1

        result = await Dispatcher(sessions, FAST, holder="other").run()

    assert result.sent == 0
    assert receiver.requests == []


async def test_two_dispatchers_racing_deliver_each_row_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    keys = [f"race-{i}" for i in range(40)]
    with webhook_receiver(delay=0.01) as receiver:
        await _webhook(sessions, receiver)
        await _enqueue(sessions, *(notification(key) for key in keys))
        first = Dispatcher(sessions, FAST, holder="replica-a", batch_size=5)
        second = Dispatcher(sessions, FAST, holder="replica-b", batch_size=5)

        results = await asyncio.gather(first.run(), second.run(), first.run(), second.run())

    assert sum(r.sent for r in results) == 40
    assert results[0].sent + results[2].sent > 0
    assert results[1].sent + results[3].sent > 0
    assert sum(r.lost_claims for r in results) == 0
    assert receiver.delivered_keys() == {key: 1 for key in keys}
    assert len(receiver.requests) == 40
    assert all(r.status == "sent" and r.attempts == 1 for r in await _rows(sessions))


async def test_slack_channel_posts_text_and_blocks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with webhook_receiver() as receiver:
        await add_channel(
            sessions, name="slack", kind="slack", config={"webhook_url": receiver.url}
        )
        await _enqueue(sessions, notification("slack-1", status="resolved"))
        assert (await Dispatcher(sessions, FAST, holder="test").run()).sent == 1

    (request,) = receiver.requests
    message = request.json()
    assert message["text"] == "[RESOLVED:1] ServiceDown (critical)"
    assert [block["type"] for block in message["blocks"]] == ["header", "section", "context"]


async def test_a_row_that_cannot_be_read_goes_dead_after_the_limit_instead_of_looping(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = NotifySettings(timeout_seconds=2, max_attempts=2, backoff_base_seconds=0.01)
    with webhook_receiver() as receiver:
        await _webhook(sessions, receiver)
        await _enqueue(sessions, notification("broken"))
        async with sessions.begin() as session:
            await session.execute(update(OutboxEntry).values(payload={"not": "a notification"}))
        await _drain(Dispatcher(sessions, settings, holder="test"), sessions)

    (row,) = await _rows(sessions)
    assert (row.status, row.attempts) == ("dead", 2)
    assert row.last_error == "unexpected error (ValidationError)"
    assert receiver.requests == []
