"""Vigil killed (SIGKILL) after an alert transition was written and before it was sent:
the next `vigil serve` delivers it, exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import select

from app.config import DatabaseSettings
from app.db.engine import create_engine, create_session_factory
from app.notify.models import OutboxEntry
from app.notify.outbox import enqueue
from tests.integration.notify.factories import add_channel, notification
from tests.integration.notify.receivers import webhook_receiver
from tests.support.server import vigil_server

SECRET = "restart-secret-0123456"


async def test_notification_written_before_a_kill_is_delivered_after_restart(
    tmp_path: Path,
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    env = {
        "VIGIL_SCHEDULER__LEASE_TTL_SECONDS": "3",  # the dead leader's lease runs out fast
        "VIGIL_NOTIFY__DISPATCH_INTERVAL_SECONDS": "3600",  # the first one never sends
    }
    with webhook_receiver() as receiver:
        with vigil_server(tmp_path, env=env) as first:
            engine = create_engine(DatabaseSettings(url=db))
            sessions = create_session_factory(engine)
            await add_channel(sessions, name="hook", config={"url": receiver.url, "secret": SECRET})
            async with sessions.begin() as session:  # the engine's transition transaction
                assert await enqueue(session, notification("restart-1")) == 1
            first.process.kill()  # SIGKILL: no shutdown, no flush
            first.process.wait()
        assert receiver.requests == []

        with vigil_server(tmp_path, env=env | {"VIGIL_NOTIFY__DISPATCH_INTERVAL_SECONDS": "1"}):
            deadline = time.monotonic() + 20
            while not receiver.delivered:
                assert time.monotonic() < deadline, "not delivered after the restart"
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.5)  # two more dispatch runs: nothing is sent again

        async with sessions() as session:
            (row,) = (await session.scalars(select(OutboxEntry))).all()
        await engine.dispose()

    assert receiver.delivered_keys() == {"restart-1": 1}
    assert receiver.delivered[0].signature_ok(SECRET)
    assert (row.status, row.attempts) == ("sent", 1)
