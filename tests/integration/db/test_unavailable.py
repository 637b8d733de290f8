"""Pages and API calls that need an unreachable database answer 503 with Retry-After, not 500.

(The same with a real PostgreSQL stopped and started under a running `vigil serve`:
``tests/e2e/test_faults.py``.)
"""

from __future__ import annotations

import logging
import secrets

import pytest
from litestar.testing import AsyncTestClient

from app.auth.login_sessions import SESSION_COOKIE
from app.auth.tokens import TOKEN_PREFIX
from app.main import create_app
from tests.conftest import make_settings
from tests.support.server import free_port


@pytest.fixture
def unreachable_url() -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"


async def test_a_page_with_a_login_session_is_503_with_retry_after(
    unreachable_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with AsyncTestClient(create_app(make_settings(unreachable_url))) as client:
        client.cookies.set(SESSION_COOKIE, secrets.token_urlsafe(24))
        with caplog.at_level(logging.WARNING, logger="app.db.unavailable"):
            response = await client.get("/services", follow_redirects=False)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "database is unavailable" in response.json()["detail"]
    (record,) = [r for r in caplog.records if r.name == "app.db.unavailable"]
    assert record.getMessage().endswith("(ConnectionRefusedError)")
    assert record.exc_info is None  # one line, no traceback per request


async def test_an_api_call_with_a_token_is_503_with_retry_after(unreachable_url: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN_PREFIX}{secrets.token_urlsafe(32)}"}
    async with AsyncTestClient(create_app(make_settings(unreachable_url))) as client:
        response = await client.get("/api/v1/sites", headers=headers)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


async def test_other_errors_stay_500(app, client) -> None:  # type: ignore[no-untyped-def]
    """Only connection-level errors mean "try again": a bug is still a 500."""
    from litestar import get

    from app.db.unavailable import CONNECTION_ERRORS

    assert not issubclass(ValueError, CONNECTION_ERRORS)
    assert not issubclass(FileNotFoundError, CONNECTION_ERRORS)

    @get("/boom", opt={"public": True}, sync_to_thread=False)
    def boom() -> None:
        raise ValueError("a bug")

    @get("/missing-file", opt={"public": True}, sync_to_thread=False)
    def missing_file() -> None:
        raise FileNotFoundError("/nowhere")

    app.register(boom)
    app.register(missing_file)
    assert (await client.get("/boom")).status_code == 500
    assert (await client.get("/missing-file")).status_code == 500
