"""The `vigil` command: check-config, db upgrade/current/downgrade, user create."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

VIGIL = [sys.executable, "-m", "app"]


def vigil(*args: str, env: dict[str, str] | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    return subprocess.run(
        [*VIGIL, *args],
        env=clean | (env or {}),
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_accepts_the_example_file() -> None:
    result = vigil("check-config", "configs/vigil.example.yaml")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_config_on_a_bad_file_exits_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("telemetry:\n  tracing:\n    sample_rate: 3\n")
    result = vigil("check-config", str(bad))
    assert result.returncode == 2
    assert "telemetry.tracing.sample_rate: expected a number between 0 and 1, got 3" in (
        result.stderr
    )


def test_bad_environment_value_stops_serve_with_exit_2() -> None:
    result = vigil("serve", env={"VIGIL_SERVER__PORT": "99999"})
    assert result.returncode == 2
    assert "server.port: expected an integer between 1 and 65535, got 99999" in result.stderr


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_db_upgrade_current_downgrade(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")
    env = {"VIGIL_DATABASE__URL": url}
    if database == "sqlite":
        assert "(none)" in vigil("db", "current", env=env).stdout
    assert vigil("db", "upgrade", env=env).returncode == 0
    assert "up to date" in vigil("db", "current", env=env).stdout
    if database == "sqlite":  # the shared PostgreSQL database stays at head for other tests
        assert vigil("db", "downgrade", "base", env=env).returncode == 0
        assert "(none)" in vigil("db", "current", env=env).stdout


def test_user_create_then_duplicate_is_refused(db_url: str) -> None:
    env = {"VIGIL_DATABASE__URL": db_url, "VIGIL_NEW_USER_PASSWORD": "correct horse battery"}
    created = vigil("user", "create", "--email", "Ops@Example.com", "--role", "admin", env=env)
    assert created.returncode == 0, created.stderr
    again = vigil("user", "create", "--email", "ops@example.com", env=env)
    assert again.returncode == 1
    assert "already exists" in again.stderr
