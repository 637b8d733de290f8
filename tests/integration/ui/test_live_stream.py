"""The overview's SSE stream on a real `vigil serve`: fragments, a live change, the limits
per session, and the vigil_sse_* metrics."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from app.config import DatabaseSettings
from app.db.engine import create_engine, create_session_factory
from app.services.models import Service
from app.ui.live import MAX_STREAMS_PER_SESSION
from tests.integration.auth.helpers import login
from tests.support.server import RunningServer, vigil_server

EMAIL = "oncall@example.com"
PASSWORD = "stream password 123"


@pytest.fixture
def server(tmp_path: Path) -> RunningServer:  # type: ignore[misc]
    env = {"VIGIL_ADMIN_EMAIL": EMAIL, "VIGIL_ADMIN_PASSWORD": PASSWORD}
    with vigil_server(tmp_path, env=env) as running:
        yield running


async def _logged_in(url: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=10)
    await login(client, email=EMAIL, password=PASSWORD)
    return client


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs of an SSE response; comments come as ("", comment)."""
    event, data = "", []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield "", line[1:].strip()
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and (event or data):
            yield event, "\n".join(data)
            event, data = "", []


@asynccontextmanager
async def _stream(client: httpx.AsyncClient) -> AsyncIterator[httpx.Response]:
    async with client.stream("GET", "/ui/events") as response:
        yield response


async def _until(events: AsyncIterator[tuple[str, str]], want: str, text: str) -> str:
    async def scan() -> str:
        async for event, data in events:
            if event == want and text in data:
                return data
        raise AssertionError("stream ended")

    return await asyncio.wait_for(scan(), timeout=20)


async def test_the_stream_sends_fragments_and_a_change_without_reload(
    server: RunningServer, tmp_path: Path
) -> None:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"))
    sessions = create_session_factory(engine)
    client = await _logged_in(server.url)
    try:
        async with _stream(client) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _events(response)
            first = [await anext(events) for _ in range(5)]
            assert first[0] == ("", "connected"), first
            assert {event for event, _data in first[1:]} == {
                "alerts",
                "services",
                "tasks",
                "self-health",
            }
            assert "No services registered" in dict(first[1:])["services"]

            async with sessions.begin() as session:
                session.add(
                    Service(
                        name="checkout",
                        base_url="http://checkout.test",
                        ping_token=secrets.token_hex(8),
                        state="down",
                    )
                )
            data = await _until(events, "services", "checkout")
            assert "Down" in data

            metrics = (await client.get("/metrics")).text
            assert 'vigil_sse_connections_active{stream="dashboard"} 1.0' in metrics
            assert re.search(
                r'vigil_sse_messages_total\{status="ok",stream="dashboard"\} [1-9]', metrics
            )
    finally:
        await client.aclose()
        await engine.dispose()


async def test_a_session_holds_at_most_three_streams(server: RunningServer) -> None:
    first = await _logged_in(server.url)
    other = await _logged_in(server.url)
    try:
        async with (
            _stream(first) as one,
            _stream(first) as two,
            _stream(first) as three,
        ):
            assert [one.status_code, two.status_code, three.status_code] == [200] * 3
            assert MAX_STREAMS_PER_SESSION == 3
            refused = await first.get("/ui/events")
            assert refused.status_code == 429
            assert "at most 3 live streams per session" in refused.text
            assert refused.headers["retry-after"] == "10"
            async with _stream(other) as elsewhere:  # another login session is not affected
                assert elsewhere.status_code == 200
        # the closed streams give their slots back
        for _ in range(50):
            async with _stream(first) as again:
                if again.status_code == 200:
                    break
            await asyncio.sleep(0.1)
        assert again.status_code == 200
    finally:
        await first.aclose()
        await other.aclose()
