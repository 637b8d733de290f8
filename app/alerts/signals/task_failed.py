"""``task_failed``: 1 for a task whose last run failed (error, non-zero exit, timeout),
else 0. Labels: ``service``, ``task``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.signals.base import Sample, SignalContext
from app.alerts.signals.tasks import TaskParams, selected_tasks

KIND: Final = "task_failed"


class Params(TaskParams, frozen=True, forbid_unknown_fields=True):
    pass


class TaskFailed:
    kind = KIND
    params_type = Params

    def check(self, params: Params) -> None:
        pass

    async def evaluate(
        self, session: AsyncSession, params: Params, ctx: SignalContext
    ) -> Sequence[Sample]:
        return [
            Sample(row.labels, 1.0 if row.status == "failed" else 0.0)
            for row in await selected_tasks(session, params, ctx)
        ]


SIGNAL: Final = TaskFailed()
