"""Task tables: each task of a service, every run it reports, every status change.

A *task* is a user's cron or batch job that pings ``/ping/{token}/{task}``; a task whose
``service_id`` is NULL is one of Vigil's own scheduler jobs (recorded through
``app.tasks.job_runs``), so the alert engine reads both kinds the same way.

Task ``status`` (what the tasks page and the ``task_failed`` / ``task_overdue`` signals read):

==========  ================================================================
``new``      created, no run finished yet
``running``  a run started (``/start``) and has not ended
``up``       the last run succeeded and the next one is not late
``failed``   the last run failed (``/fail``, exit status 1-255) or timed out
``overdue``  no ping by ``next_expected_at`` + grace (``overdue_at``)
``paused``   an admin paused it: never marked overdue; a ping resumes it
==========  ================================================================

Every change of ``status`` is a :class:`TaskStatusChange` row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow

TaskStatus = Literal["new", "running", "up", "failed", "overdue", "paused"]
TASK_STATUSES: tuple[TaskStatus, ...] = ("new", "running", "up", "failed", "overdue", "paused")
RunStatus = Literal["running", "success", "error", "cancelled", "timeout", "log"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "success", "error", "cancelled", "timeout", "log")
"""``log`` is a message sent to ``/log``: stored with the runs, it changes no status."""
ScheduleKind = Literal["period", "cron"]
SCHEDULE_KINDS: tuple[ScheduleKind, ...] = ("period", "cron")

# SQLite's INTEGER PRIMARY KEY is its 64-bit rowid; PostgreSQL gets a BIGINT identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Task(Base):
    """A service's task (or, with no service, one of Vigil's own jobs) and its schedule."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("service_id", "name"),
        # Vigil's own jobs have no service: their names are unique among themselves.
        Index(
            "ix_tasks_job_name",
            "name",
            unique=True,
            sqlite_where=text("service_id IS NULL"),
            postgresql_where=text("service_id IS NULL"),
        ),
        Index("ix_tasks_overdue_at", "overdue_at"),
        CheckConstraint(f"status IN {TASK_STATUSES}", name="status"),
        CheckConstraint(f"schedule_kind IN {SCHEDULE_KINDS}", name="schedule_kind"),
        CheckConstraint("period_seconds >= 1", name="period_seconds"),
        CheckConstraint("grace_seconds >= 0", name="grace_seconds"),
        CheckConstraint("max_run_seconds >= 1", name="max_run_seconds"),
        CheckConstraint(
            "schedule_kind = 'period' OR cron_expression IS NOT NULL", name="cron_expression"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), default=None
    )
    """None: one of Vigil's own scheduler jobs."""
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="new")
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    schedule_kind: Mapped[str] = mapped_column(String(6), default="period")
    period_seconds: Mapped[int] = mapped_column(Integer, default=86_400)
    """``period`` schedules: a run is expected every this many seconds."""
    cron_expression: Mapped[str | None] = mapped_column(String(100), default=None)
    """``cron`` schedules: five-field crontab expression, read in ``timezone``."""
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    grace_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    """How late a run may be (either kind) before the task is ``overdue``."""
    max_run_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    """A started run still open after this long is closed as ``timeout``."""

    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the last run ended (or its ping arrived)."""
    last_status: Mapped[str | None] = mapped_column(String(10), default=None)
    """Status of the last finished run."""
    next_expected_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the next run should end; None before the first ping."""
    overdue_at: Mapped[datetime | None] = mapped_column(default=None)
    """``next_expected_at`` + grace: the overdue job reads this column."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskRun(Base):
    """One run of a task (or a ``/log`` message); kept ``retention.days`` by ``started_at``."""

    __tablename__ = "task_runs"
    __table_args__ = (
        CheckConstraint(f"status IN {RUN_STATUSES}", name="status"),
        Index("ix_task_runs_task_id_id", "task_id", "id"),  # history, newest first
        Index("ix_task_runs_task_id_status_id", "task_id", "status", "id"),  # open runs
        Index("ix_task_runs_status_deadline_at", "status", "deadline_at"),  # timeouts
        Index("ix_task_runs_started_at", "started_at"),  # retention
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    rid: Mapped[str | None] = mapped_column(String(64), default=None)
    """The client's run id pairing a ``/start`` with its end (concurrent runs)."""
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime]
    """``/start`` time; for an end with no start, the time of that ping."""
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    """While ``running``: when it becomes ``timeout``."""
    duration_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    """Start to end; None when the run reported no start."""
    exit_code: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    log: Mapped[str] = mapped_column(Text, default="")
    """The ping's body (secrets redacted), at most ``tasks.max_log_bytes``."""
    log_truncated: Mapped[bool] = mapped_column(Boolean, default=False)


class TaskStatusChange(Base):
    """A task's move from one status to another, with the reason; kept ``retention.days``."""

    __tablename__ = "task_status_changes"
    __table_args__ = (
        Index("ix_task_status_changes_task_id_changed_at", "task_id", "changed_at"),
        Index("ix_task_status_changes_changed_at", "changed_at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime]
    from_status: Mapped[str] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(300), default="")
