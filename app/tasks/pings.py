"""What a ping says: its URL suffix, run id and body, parsed and checked (no I/O).

``/ping/{token}/{task}`` reports a success; the suffix after the task selects the action,
as on Healthchecks.io::

    /start          a run began
    /fail           a run failed
    /log            a message; changes no status
    /{exit_status}  0 = success, 1-255 = failure (the exit status is stored)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from app.telemetry.logging import redact

PingKind = Literal["success", "fail", "start", "log"]

TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
"""Task names: letters, digits, ``_ . -``; 1-100 characters, starting with a letter/digit."""
RID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_EXIT_STATUS: Final = re.compile(r"[0-9]{1,3}")
MAX_EXIT_STATUS: Final = 255


class PingError(ValueError):
    """A ping that cannot be accepted (answered 400 with this message)."""


@dataclass(frozen=True, slots=True)
class PingAction:
    """The task a ping is about and what it reports."""

    task: str
    kind: PingKind
    exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    """One accepted ping, ready to be written."""

    service_id: int
    task: str
    kind: PingKind
    received_at: datetime
    exit_code: int | None = None
    rid: str | None = None
    log: str = ""
    log_truncated: bool = False


def parse_action(rest: str) -> PingAction:
    """Parse ``{task}`` or ``{task}/{suffix}`` (the path after the token)."""
    parts = rest.strip("/").split("/") if rest.strip("/") else []
    if not parts or len(parts) > 2:
        raise PingError("ping URL must be /ping/{token}/{task}[/start|/fail|/log|/{exit_status}]")
    task = parts[0]
    if TASK_NAME.fullmatch(task) is None:
        raise PingError(
            "task name must be 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    if len(parts) == 1:
        return PingAction(task, "success")
    suffix = parts[1]
    if suffix in ("start", "fail", "log"):
        return PingAction(task, suffix)  # type: ignore[arg-type]
    if _EXIT_STATUS.fullmatch(suffix) is None or int(suffix) > MAX_EXIT_STATUS:
        raise PingError(
            f"unknown ping action {suffix[:20]!r}: use start, fail, log or an exit status 0-255"
        )
    code = int(suffix)
    return PingAction(task, "success" if code == 0 else "fail", exit_code=code)


def check_rid(value: str | None) -> str | None:
    """The run id from the query string, or None; raises :class:`PingError` if malformed."""
    if value is None or value == "":
        return None
    if RID.fullmatch(value) is None:
        raise PingError("rid must be 1-64 letters, digits or '_ . : -' (a UUID fits)")
    return value


def log_text(body: bytes, *, max_bytes: int, truncated: bool = False) -> tuple[str, bool]:
    """The body as stored: at most ``max_bytes`` of it, decoded, secrets redacted.

    Returns the text and whether anything was cut (``truncated`` says the reader already
    dropped bytes beyond the limit).
    """
    if len(body) > max_bytes:
        body, truncated = body[:max_bytes], True
    # A multi-byte character cut by the limit is dropped, not turned into a replacement char.
    text = body.decode("utf-8", errors="ignore" if truncated else "replace")
    text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    return redact(text), truncated
