"""/healthz and /readyz, and the headers every response carries."""

from __future__ import annotations

import logging

from litestar.testing import AsyncTestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.support.server import free_port


async def test_ready_when_database_is_at_head(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "failing": []}


async def test_readiness_probes_log_nothing(client, caplog) -> None:  # type: ignore[no-untyped-def]
    """An orchestrator probes every few seconds: a ready answer writes no log line (httpx
    lines are the test client's own)."""
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert (await client.get("/readyz")).status_code == 200
    server_records = [r for r in caplog.records if r.name not in ("httpx", "vigil.access")]
    assert [r.getMessage() for r in server_records] == []


async def test_unreachable_database_is_503_with_the_failing_check() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    async with AsyncTestClient(create_app(make_settings(url))) as client:
        assert (await client.get("/healthz")).status_code == 200
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"]
    assert body["failing"][0].startswith("database:")


async def test_responses_carry_a_csp_without_inline_script(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/healthz")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
