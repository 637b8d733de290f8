"""Writing notifications into the outbox; called by the alert engine in its transaction.

One row per (notification, channel), unique on ``(idempotency_key, channel_id)``: writing
the same notification twice (a retried transaction, a replayed tick) adds nothing. The
dispatcher (``app.notify.dispatcher``) sends the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import NotifySettings
from app.db.base import utcnow
from app.db.upsert import insert_for
from app.notify.messages import AlertNotification
from app.notify.models import Channel, OutboxEntry
from app.notify.payload import to_row
from app.notify.routing import parse_matchers, route

RESEND_KINDS = ("alertmanager",)
"""Channel kinds that forget an alert unless it is re-sent while it fires."""
DEFAULT_RESEND_SECONDS = NotifySettings().alertmanager_resend_seconds


async def enqueue(
    session: AsyncSession,
    notification: AlertNotification,
    *,
    channel_ids: Sequence[int] = (),
) -> int:
    """Write one outbox row per target channel (idempotent on (idempotency_key, channel)).

    ``channel_ids`` empty: every enabled channel; otherwise the enabled ones among them
    (ids that no longer exist are ignored). Either way a channel gets the notification only
    if its routing (severities, label matchers) lets at least one series through, and then
    only those series. Returns the number of rows written. Does not commit.
    """
    query = select(Channel).where(Channel.enabled.is_(True))
    if channel_ids:
        query = query.where(Channel.id.in_(list(channel_ids)))
    channels = (await session.scalars(query.order_by(Channel.id))).all()
    return await _write(session, notification, channels, key=notification.idempotency_key)


async def resend_firing(
    session: AsyncSession,
    notifications: Sequence[AlertNotification],
    *,
    now: datetime,
    interval_seconds: float = DEFAULT_RESEND_SECONDS,
) -> int:
    """Re-send still-firing rule groups to the channels that expire alerts (Alertmanager).

    Only to the channels that got the rule's notifications before (through ``enqueue``, so
    the rule's own channel choice and each channel's routing hold). Called on every
    evaluation tick; rows are keyed by the time slot
    (``now // interval_seconds``), so however often it is called, each group reaches
    each such channel once per ``interval_seconds`` (pass
    ``settings.notify.alertmanager_resend_seconds``). Returns the rows written; does not
    commit.
    """
    if not notifications:
        return 0
    channels = (
        await session.scalars(
            select(Channel)
            .where(Channel.enabled.is_(True), Channel.kind.in_(RESEND_KINDS))
            .order_by(Channel.id)
        )
    ).all()
    if not channels:
        return 0
    reached = set(
        await session.execute(
            select(OutboxEntry.rule_id, OutboxEntry.channel_id)
            .where(
                OutboxEntry.rule_id.in_({n.rule_id for n in notifications}),
                OutboxEntry.channel_id.in_([c.id for c in channels]),
            )
            .distinct()
        )
    )
    slot = int(now.timestamp() // interval_seconds)
    written = 0
    for notification in notifications:
        targets = [c for c in channels if (notification.rule_id, c.id) in reached]
        key = resend_key(notification.idempotency_key, slot)
        written += await _write(session, notification, targets, key=key)
    return written


def resend_key(idempotency_key: str, slot: int) -> str:
    """The idempotency key of a re-send in time slot ``slot``."""
    return f"{idempotency_key}#resend-{slot}"


async def _write(
    session: AsyncSession,
    notification: AlertNotification,
    channels: Sequence[Channel],
    *,
    key: str,
) -> int:
    rows = []
    now = utcnow()
    for channel in channels:
        routed = route(
            notification,
            severities=channel.severities,
            matchers=parse_matchers(channel.label_matchers),
        )
        if routed is None:
            continue
        rows.append(
            {
                "channel_id": channel.id,
                "idempotency_key": key,
                "rule_id": notification.rule_id,
                "payload": to_row(routed),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    written = 0
    for row in rows:
        result = await session.execute(
            insert_for(session, OutboxEntry)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["idempotency_key", "channel_id"])
        )
        written += int(result.rowcount)  # type: ignore[attr-defined]
    return written
