"""``vigil db backup FILE``: a consistent copy of the SQLite database while Vigil runs.

Uses SQLite's online backup API (``sqlite3.Connection.backup``) in one step: the copy is
one read transaction's snapshot, and in WAL mode writers are not blocked meanwhile. The
copy is written next to ``FILE`` under a temporary name, checked with ``PRAGMA
quick_check`` and renamed into place, so ``FILE`` is either complete or absent. PostgreSQL
is backed up with ``pg_dump`` (see docs/deploy.md). Usage::

    source = sqlite_path(settings.database.url)
    result = backup_sqlite(source, Path("vigil-2026-11-23.db"))
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class BackupError(Exception):
    """A backup that cannot be made; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    target: Path
    size_bytes: int
    pages: int


def sqlite_path(database_url: str) -> Path:
    """The database file of a ``sqlite+aiosqlite:///path`` URL; BackupError for any other."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise BackupError(f"database.url is not a database URL: {exc}") from exc
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            f"`vigil db backup` copies SQLite databases; this one is {url.get_backend_name()}: "
            "use pg_dump (see docs/deploy.md)"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy ``source`` to ``target`` (which must not exist) with the online backup API."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # mode=ro: a wrong path must not create an empty database.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            (verdict,) = dst.execute("PRAGMA quick_check").fetchone()
            (pages,) = dst.execute("PRAGMA page_count").fetchone()
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from exc
    finally:
        src.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy of {source} failed its integrity check: {verdict}")
    os.replace(partial, target)
    return BackupResult(target=target, size_bytes=target.stat().st_size, pages=int(pages))
