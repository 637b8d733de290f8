"""What the overview page shows about Vigil itself."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app import __version__

PROCESS_STARTED = time.monotonic()

_DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True, slots=True)
class SelfStatus:
    version: str
    environment: str
    uptime: str
    database: str
    scheduler: str


def format_uptime(seconds: float) -> str:
    """``"3 d 4 h"``, ``"2 h 5 min"``, ``"42 s"``: the two largest units."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {unit}" for value, unit in parts[:2])


def database_name(dialect: str) -> str:
    """A person's name for the database dialect."""
    return _DATABASE_NAMES.get(dialect, dialect)


def scheduler_status(*, enabled: bool, is_leader: bool, has_heartbeat: bool = True) -> str:
    """Whether this replica runs background jobs."""
    if not enabled:
        return "Disabled on this replica"
    if is_leader:
        return "Leader: this replica runs the jobs"
    if not has_heartbeat:
        return "Starting: lease not checked yet"
    return "Standby: not holding the lease"


def self_status(
    *,
    environment: str,
    dialect: str,
    scheduler_enabled: bool,
    is_leader: bool,
    has_heartbeat: bool = True,
    now: float,
) -> SelfStatus:
    """The health summary shown at the top of the overview."""
    return SelfStatus(
        version=__version__,
        environment=environment,
        uptime=format_uptime(now - PROCESS_STARTED),
        database=database_name(dialect),
        scheduler=scheduler_status(
            enabled=scheduler_enabled, is_leader=is_leader, has_heartbeat=has_heartbeat
        ),
    )
