"""Group commit of pings: concurrent pings share one transaction, each answered after it.

A request hands its :class:`~app.tasks.pings.Ping` to :meth:`PingWriter.submit` and waits.
One writer coroutine takes whatever is queued (up to ``max_batch``), applies the pings in
arrival order to a snapshot of their tasks and open runs, writes everything in one
transaction, and only then resolves each request's future: a 200 means the ping is
committed. If the batch fails, each ping is retried in a transaction of its own, so one bad
ping (e.g. for a service deleted a moment ago) fails alone and the others are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Final

from app.db.unavailable import CONNECTION_ERRORS
from app.tasks.pings import Ping
from app.tasks.store import TaskDefaults, UnknownTask, write_pings
from app.tasks.transactions import Transactions

__all__ = ["PingNotStored", "PingWriter", "TaskDefaults", "UnknownTask", "WriterUnavailable"]

log = logging.getLogger(__name__)

MAX_QUEUED: Final = 20_000
"""Pings waiting for the writer beyond which new ones are refused (503) rather than queued."""


class WriterUnavailable(RuntimeError):
    """The writer is stopped or its queue is full: the ping was not stored."""


class PingNotStored(RuntimeError):
    """The database refused the ping (logged); the client should retry."""


_Item = tuple[Ping, "asyncio.Future[None]"]


class PingWriter:
    """Writes pings in shared transactions; see the module docstring."""

    def __init__(
        self,
        transactions: Transactions,
        *,
        defaults: TaskDefaults,
        max_log_bytes: int,
        max_batch: int = 512,
    ) -> None:
        self._transactions = transactions
        self.defaults = defaults
        self.max_log_bytes = max_log_bytes
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Item] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self.transactions = 0
        """Transactions committed (batches and single retries): tests and benchmarks read it."""

    async def start(self) -> None:
        """Start the writer coroutine."""
        if self._loop_task is None:
            self._queue = asyncio.Queue()
            self._loop_task = asyncio.create_task(self._run(), name="tasks.ping_writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        queue, loop_task = self._queue, self._loop_task
        if queue is None or loop_task is None:
            return
        self._queue = None  # refuse new pings
        await queue.join()
        loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task
        self._loop_task = None
        await self._transactions.close()

    async def submit(self, ping: Ping) -> None:
        """Store ``ping``; returns once it is committed.

        Raises :class:`UnknownTask` (nothing stored) or :class:`WriterUnavailable`; a
        database error propagates.
        """
        queue = self._queue
        if queue is None:
            raise WriterUnavailable("the ping writer is not running")
        if queue.qsize() >= MAX_QUEUED:
            raise WriterUnavailable("too many pings waiting to be written")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.put_nowait((ping, future))
        await future

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    queue.task_done()

    async def _write(self, batch: list[_Item]) -> None:
        try:
            outcomes = await self._write_batch([ping for ping, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                if isinstance(exc, CONNECTION_ERRORS):  # an outage: one line, no traceback
                    log.warning(
                        "could not store a ping: database unavailable (%s)", type(exc).__name__
                    )
                else:
                    log.exception("could not store a ping")
                _resolve(batch[0][1], PingNotStored())
                return
            log.warning("a batch of %d pings failed; storing them one by one", len(batch))
            for item in batch:
                await self._write([item])
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _resolve(future, outcome)

    async def _write_batch(self, pings: list[Ping]) -> list[BaseException | None]:
        """Apply and store ``pings`` in one transaction; per ping None or why it was refused."""
        outcomes = await self._transactions.run(
            functools.partial(
                write_pings, pings=pings, defaults=self.defaults, max_log_bytes=self.max_log_bytes
            )
        )
        self.transactions += 1
        return outcomes


def _resolve(future: asyncio.Future[None], outcome: BaseException | None) -> None:
    if future.done():  # the client went away and its request was cancelled
        return
    if outcome is None:
        future.set_result(None)
    else:
        future.set_exception(outcome)
