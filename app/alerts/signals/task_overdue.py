"""``task_overdue``: seconds a task is late past its grace period (at least 1 while
``overdue``), 0 when it is on time. Labels: ``service``, ``task``.

A task counts as overdue when the tasks job marked it so, or when ``overdue_at`` has passed
and that job has not run yet (so the alert does not wait for another job's tick).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.signals.base import Sample, SignalContext
from app.alerts.signals.tasks import TaskParams, TaskRow, selected_tasks

KIND: Final = "task_overdue"


class Params(TaskParams, frozen=True, forbid_unknown_fields=True):
    pass


def seconds_late(row: TaskRow, ctx: SignalContext) -> float:
    """How late ``row`` is at ``ctx.now`` (0: not overdue)."""
    late = (ctx.now - row.overdue_at).total_seconds() if row.overdue_at is not None else 0.0
    if row.status == "overdue":
        return max(1.0, late)
    if row.status in ("new", "running"):
        return 0.0
    return max(0.0, late)


class TaskOverdue:
    kind = KIND
    params_type = Params

    def check(self, params: Params) -> None:
        pass

    async def evaluate(
        self, session: AsyncSession, params: Params, ctx: SignalContext
    ) -> Sequence[Sample]:
        return [
            Sample(row.labels, seconds_late(row, ctx))
            for row in await selected_tasks(session, params, ctx)
        ]


SIGNAL: Final = TaskOverdue()
