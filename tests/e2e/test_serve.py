"""`vigil serve` from an empty data directory: migrates, bootstraps the admin, serves."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import vigil_server


def _ready(url: str, timeout: float = 10) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{url}/readyz", timeout=2)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_fresh_start_serves_health_readiness_and_metrics(tmp_path: Path) -> None:
    with vigil_server(tmp_path) as server:
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        ready = _ready(server.url)
        assert ready.status_code == 200, ready.text
        metrics = httpx.get(f"{server.url}/metrics")
        assert metrics.status_code == 200
        assert "vigil_build_info{" in metrics.text
        assert metrics.headers["content-type"].startswith("text/plain")
    output = server.output()
    assert "Admin account created" in output
    assert "password:" in output
    assert "Demo site created" in output
    assert "Application shutdown complete." in output
    # uvicorn re-raises the SIGTERM it handled, after a clean shutdown
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert (tmp_path / "vigil.db").exists()


def test_admin_password_from_environment_is_not_printed(tmp_path: Path) -> None:
    env = {"VIGIL_ADMIN_EMAIL": "ops@example.com", "VIGIL_ADMIN_PASSWORD": "s3cret-from-env"}
    with vigil_server(tmp_path, env=env) as server:
        pass
    assert "s3cret-from-env" not in server.output()


def test_second_start_keeps_the_admin_and_prints_no_password(tmp_path: Path) -> None:
    with vigil_server(tmp_path):
        pass
    with vigil_server(tmp_path) as again:
        pass
    assert "Admin account created" not in again.output()


def test_readiness_fails_when_the_schema_is_behind(tmp_path: Path) -> None:
    env = {"VIGIL_DATABASE__AUTO_UPGRADE": "false"}
    with vigil_server(tmp_path, env=env) as server:
        response = httpx.get(f"{server.url}/readyz")
        assert response.status_code == 503
        assert any("migrations" in item for item in response.json()["failing"])


def test_serves_on_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_database_url")
    with vigil_server(tmp_path, env={"VIGIL_DATABASE__URL": url}) as server:
        assert _ready(server.url).status_code == 200
