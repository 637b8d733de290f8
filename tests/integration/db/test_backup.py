"""`vigil db backup FILE`: SQLite's online backup API, while a writer keeps writing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from app.db.backup import BackupError, backup_sqlite, sqlite_path
from tests.integration.cli.test_cli import vigil


def _database(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,)] * rows)


def test_backup_is_a_complete_consistent_copy_while_a_writer_writes(tmp_path: Path) -> None:
    source = tmp_path / "vigil.db"
    _database(source, rows=20_000)
    stop = threading.Event()

    def write() -> None:
        with sqlite3.connect(source) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO t (v) VALUES ('during')")
                conn.commit()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        result = backup_sqlite(source, tmp_path / "copy.db")
    finally:
        stop.set()
        writer.join()

    assert result.target == tmp_path / "copy.db"
    assert result.size_bytes == result.target.stat().st_size > 0
    with sqlite3.connect(result.target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (count,) = copy.execute("SELECT count(*) FROM t").fetchone()
    assert count >= 20_000
    assert not list(tmp_path.glob(".*partial"))


def test_backup_refuses_an_existing_target_and_a_missing_source(tmp_path: Path) -> None:
    source = tmp_path / "vigil.db"
    _database(source, rows=1)
    (tmp_path / "taken.db").write_text("keep me")
    with pytest.raises(BackupError, match="exists"):
        backup_sqlite(source, tmp_path / "taken.db")
    assert (tmp_path / "taken.db").read_text() == "keep me"
    with pytest.raises(BackupError, match="no SQLite database"):
        backup_sqlite(tmp_path / "missing.db", tmp_path / "copy.db")
    assert not (tmp_path / "missing.db").exists()  # not created by the attempt


def test_only_sqlite_urls_are_backed_up() -> None:
    assert sqlite_path("sqlite+aiosqlite:///./data/vigil.db") == Path("data/vigil.db")
    with pytest.raises(BackupError, match="use pg_dump"):
        sqlite_path("postgresql+asyncpg://vigil@postgres/vigil")
    with pytest.raises(BackupError, match="in-memory"):
        sqlite_path("sqlite+aiosqlite:///:memory:")


def test_cli_backs_up_a_migrated_database(tmp_path: Path) -> None:
    env = {"VIGIL_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"}
    assert vigil("db", "upgrade", env=env).returncode == 0

    result = vigil("db", "backup", str(tmp_path / "backup.db"), env=env)

    assert result.returncode == 0, result.stderr
    assert "backed up" in result.stdout
    with sqlite3.connect(tmp_path / "backup.db") as copy:
        tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master")}
    assert {"alembic_version", "users", "api_tokens"} <= tables


def test_cli_on_postgresql_exits_1_pointing_to_pg_dump(tmp_path: Path) -> None:
    env = {"VIGIL_DATABASE__URL": "postgresql+asyncpg://vigil@127.0.0.1/vigil"}
    result = vigil("db", "backup", str(tmp_path / "backup.db"), env=env)
    assert result.returncode == 1
    assert "use pg_dump" in result.stderr
    assert not (tmp_path / "backup.db").exists()
