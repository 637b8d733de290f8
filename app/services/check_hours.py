"""Hourly check counts (``service_check_hours``), kept in step with ``service_checks``.

Every stored check adds one to its service's row for that UTC hour, in the same
transaction, so uptime over long windows is a sum over hours (see ``queries.py``).
Data written straight into ``service_checks`` (seeds, imports) is counted by
:func:`recount`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.db.base import UTCDateTime
from app.db.upsert import insert_for
from app.services.models import ServiceCheck, ServiceCheckHour


class HourStart(FunctionElement[datetime]):
    """The start of a UTC datetime column's hour, as each database stores ``UTCDateTime``."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(HourStart, "sqlite")
def _hour_sqlite(element: HourStart, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite holds UTCDateTime as naive text in SQLAlchemy's format.
    return f"strftime('%Y-%m-%d %H:00:00.000000', {compiler.process(element.clauses, **kw)})"


@compiles(HourStart, "postgresql")
def _hour_postgresql(element: HourStart, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date_trunc('hour', {compiler.process(element.clauses, **kw)})"


def hour_of(moment: datetime) -> datetime:
    """The start of ``moment``'s hour."""
    return moment.replace(minute=0, second=0, microsecond=0)


async def count_check(
    session: AsyncSession, *, service_id: int, checked_at: datetime, ok: bool
) -> None:
    """Add one check to its hour (in the caller's transaction)."""
    table = ServiceCheckHour.__table__
    statement = insert_for(session, table).values(
        service_id=service_id, hour=hour_of(checked_at), checks=1, ok=int(ok)
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.service_id, table.c.hour],
            set_={
                "checks": table.c.checks + statement.excluded.checks,
                "ok": table.c.ok + statement.excluded.ok,
            },
        )
    )


async def recount(session: AsyncSession) -> None:
    """Rebuild every hour's counts from ``service_checks`` (in the caller's transaction)."""
    checks = ServiceCheck.__table__.c
    hour = HourStart(checks.checked_at)
    counted = select(
        checks.service_id, hour, func.count(), func.sum(case((checks.ok, 1), else_=0))
    ).group_by(checks.service_id, hour)
    await session.execute(delete(ServiceCheckHour))
    await session.execute(
        insert(ServiceCheckHour).from_select(["service_id", "hour", "checks", "ok"], counted)
    )
