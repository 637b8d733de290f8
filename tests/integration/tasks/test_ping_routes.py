"""/ping/{token}/{task}: every form and method stores the right run; bad pings change nothing."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import LoggingSettings, Settings, TasksSettings, TelemetrySettings, TracingSettings
from app.main import create_app
from tests.conftest import make_settings
from tests.integration.tasks.conftest import TOKEN, changes, only, runs, tasks

Client = AsyncTestClient[Litestar]
BASE = f"/ping/{TOKEN}"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url, tasks=TasksSettings(max_log_bytes=10_000))


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
async def test_success_ping_stores_a_success_run_for_every_method(
    client: Client, sessions: async_sessionmaker[AsyncSession], method: str
) -> None:
    response = await client.request(method, f"{BASE}/backup")
    assert response.status_code == 200
    assert response.text == ("" if method == "HEAD" else "OK")
    run = only(await runs(sessions))
    assert (run.status, run.exit_code, run.duration_seconds) == ("success", None, None)
    assert run.ended_at == run.started_at
    task = only(await tasks(sessions))
    assert (task.name, task.status, task.last_status) == ("backup", "up", "success")
    assert task.next_expected_at is not None
    assert task.overdue_at is not None
    assert task.next_expected_at - task.last_run_at == task.next_expected_at - run.ended_at
    assert (task.next_expected_at - run.ended_at).total_seconds() == task.period_seconds


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
async def test_start_then_success_closes_the_run_with_its_duration(
    client: Client, sessions: async_sessionmaker[AsyncSession], method: str
) -> None:
    assert (await client.request(method, f"{BASE}/backup/start")).status_code == 200
    started = only(await runs(sessions))
    assert started.status == "running"
    assert started.deadline_at is not None
    assert only(await tasks(sessions)).status == "running"

    assert (await client.request(method, f"{BASE}/backup")).status_code == 200
    run = only(await runs(sessions))
    assert run.id == started.id
    assert run.status == "success"
    assert run.deadline_at is None
    assert run.duration_seconds is not None
    assert run.duration_seconds >= 0
    assert only(await tasks(sessions)).status == "up"
    assert [(c.from_status, c.to_status) for c in await changes(sessions)] == [
        ("new", "running"),
        ("running", "up"),
    ]


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
async def test_fail_ping_records_an_error_and_fails_the_task(
    client: Client, sessions: async_sessionmaker[AsyncSession], method: str
) -> None:
    assert (await client.request(method, f"{BASE}/backup/fail")).status_code == 200
    assert only(await runs(sessions)).status == "error"
    task = only(await tasks(sessions))
    assert (task.status, task.last_status) == ("failed", "error")
    assert only(await changes(sessions)).reason == "run failed"


@pytest.mark.parametrize(("code", "status"), [("0", "success"), ("1", "error"), ("255", "error")])
async def test_exit_status_selects_success_or_failure_and_is_stored(
    client: Client, sessions: async_sessionmaker[AsyncSession], code: str, status: str
) -> None:
    assert (await client.post(f"{BASE}/backup/{code}")).status_code == 200
    run = only(await runs(sessions))
    assert (run.status, run.exit_code) == (status, int(code))
    assert only(await tasks(sessions)).status == ("up" if status == "success" else "failed")


@pytest.mark.parametrize("suffix", ["256", "-1", "abc", "1.5", "0x1", "1000", "start/x"])
async def test_bad_exit_status_or_action_is_400_and_stores_nothing(
    client: Client, sessions: async_sessionmaker[AsyncSession], suffix: str
) -> None:
    response = await client.get(f"{BASE}/backup/{suffix}")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert await runs(sessions) == []
    assert await tasks(sessions) == []


@pytest.mark.parametrize("path", [f"{BASE}/", f"{BASE}/-dash-first", f"{BASE}/{'x' * 101}"])
async def test_bad_task_name_is_400(
    client: Client, sessions: async_sessionmaker[AsyncSession], path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 400, response.text
    assert await tasks(sessions) == []


async def test_bad_rid_is_400(client: Client, sessions: async_sessionmaker[AsyncSession]) -> None:
    response = await client.get(f"{BASE}/backup/start", params={"rid": "a b"})
    assert response.status_code == 400
    assert "rid" in response.json()["detail"]
    assert await runs(sessions) == []


async def test_unknown_token_is_404_and_stores_nothing(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.get("/ping/not-a-token/backup")
    assert response.status_code == 404
    assert response.json()["detail"] == "unknown ping token"
    assert await tasks(sessions) == []


async def test_other_methods_are_405(client: Client) -> None:
    response = await client.put(f"{BASE}/backup")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST, HEAD"


async def test_log_ping_stores_a_message_and_changes_no_status(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.get(f"{BASE}/backup")
    assert (await client.post(f"{BASE}/backup/log", content=b"disk 91% full")).status_code == 200
    log_run = (await runs(sessions))[-1]
    assert (log_run.status, log_run.log) == ("log", "disk 91% full")
    assert only(await tasks(sessions)).status == "up"


async def test_end_without_rid_pairs_with_the_latest_open_run(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.get(f"{BASE}/backup/start", params={"rid": "r1"})
    await client.get(f"{BASE}/backup/start", params={"rid": "r2"})
    await client.get(f"{BASE}/backup/0")
    first, second = await runs(sessions)
    assert (first.rid, first.status) == ("r1", "running")
    assert (second.rid, second.status, second.exit_code) == ("r2", "success", 0)


async def test_rid_pairs_concurrent_runs_in_any_order(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rids = [f"run-{i}" for i in range(5)]
    for rid in rids:
        await client.get(f"{BASE}/backup/start", params={"rid": rid})
    # The ends arrive out of order, some as failures, concurrently.
    ends = [
        client.get(f"{BASE}/backup/{i % 2}", params={"rid": rid})
        for i, rid in reversed(list(enumerate(rids)))
    ]
    assert {r.status_code for r in await asyncio.gather(*ends)} == {200}
    stored = await runs(sessions)
    assert len(stored) == 5
    for i, run in enumerate(stored):
        assert run.rid == rids[i]
        assert (run.status, run.exit_code) == ("success" if i % 2 == 0 else "error", i % 2)
        assert run.duration_seconds is not None


async def test_end_with_unknown_rid_is_a_run_of_its_own(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.get(f"{BASE}/backup/start", params={"rid": "r1"})
    await client.get(f"{BASE}/backup/fail", params={"rid": "other"})
    first, second = await runs(sessions)
    assert (first.rid, first.status) == ("r1", "running")
    assert (second.rid, second.status, second.duration_seconds) == ("other", "error", None)


async def test_a_new_start_without_rid_cancels_the_previous_open_one(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.get(f"{BASE}/backup/start")
    await client.get(f"{BASE}/backup/start")
    await client.get(f"{BASE}/backup")
    first, second = await runs(sessions)
    assert first.status == "cancelled"
    assert first.ended_at is not None
    assert second.status == "success"


async def test_body_of_exactly_max_bytes_is_kept_whole(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = ("x" * 99 + "\n") * 100  # 10,000 bytes
    assert (await client.post(f"{BASE}/backup", content=body.encode())).status_code == 200
    run = only(await runs(sessions))
    assert run.log == body
    assert run.log_truncated is False


async def test_longer_body_is_truncated_and_flagged(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = b"y" * 10_001
    assert (await client.post(f"{BASE}/backup/1", content=body)).status_code == 200
    run = only(await runs(sessions))
    assert run.log == "y" * 10_000
    assert run.log_truncated is True


async def test_body_over_the_hard_limit_is_413_and_stores_nothing(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(f"{BASE}/backup", content=b"z" * 1_048_577)
    assert response.status_code == 413
    assert await runs(sessions) == []


async def test_start_and_end_logs_are_joined(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.post(f"{BASE}/backup/start", content=b"starting")
    await client.post(f"{BASE}/backup/0", content=b"done")
    assert only(await runs(sessions)).log == "starting\ndone"


async def test_secrets_in_the_body_are_redacted_before_storage(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = (
        "connecting to postgresql://backup:hunter2@db.internal/prod\n"
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig\n"
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n"
        "password=s3cr3t done\n"
    )
    await client.post(f"{BASE}/backup/fail", content=body.encode())
    log = only(await runs(sessions)).log
    for secret in ("hunter2", "eyJhbGciOiJIUzI1NiJ9", "wJalrXUtnFEMI", "s3cr3t"):
        assert secret not in log
    assert "db.internal/prod" in log
    assert "done" in log


async def test_non_utf8_body_is_stored_with_replacement_characters(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.post(f"{BASE}/backup", content=b"ok \xff\x00 end")
    assert only(await runs(sessions)).log == "ok \ufffd end"


async def test_token_never_reaches_logs_spans_or_metric_labels(
    db_url: str, service_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    telemetry = TelemetrySettings(
        tracing=TracingSettings(enabled=False), logging=LoggingSettings(access_log="all")
    )
    app = create_app(make_settings(db_url, telemetry=telemetry))
    caplog.set_level(logging.INFO)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get(f"{BASE}/backup/0")).status_code == 200
        assert (await client.get(f"{BASE}/backup/256")).status_code == 400
        assert (await client.get("/ping/unknown-token-xyz/backup")).status_code == 404
    access = [r for r in caplog.records if r.name == "vigil.access"]
    assert [r.__dict__["path"] for r in access] == [
        "/ping/{token}/backup/0",
        "/ping/{token}/backup/256",
        "/ping/{token}/backup",
    ]
    assert {r.__dict__["route"] for r in access} == {
        "/ping/{token}/{task}/{action}",
        "/ping/{token}/{task}",
    }
    server_side = [r for r in caplog.records if r.name != "httpx"]  # httpx is the test client
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in server_side)
    exposed = generate_latest(app.state.telemetry.metrics.registry).decode()
    for seen in (logged, exposed):
        assert TOKEN not in seen
        assert "unknown-token-xyz" not in seen
    assert 'route="/ping/{token}/{task}/{action}"' in exposed


async def test_rate_limit_per_token_answers_429_with_retry_after(
    db_url: str, service_id: int, sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = make_settings(
        db_url, tasks=TasksSettings(rate_limit_per_second=0.5, rate_limit_burst=3)
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        codes = [(await client.get(f"{BASE}/backup")).status_code for _ in range(5)]
        limited = await client.get(f"{BASE}/backup")
    assert codes == [200, 200, 200, 429, 429]
    assert limited.headers["retry-after"] == "2"
    assert limited.json()["detail"] == "rate limit exceeded"
    assert len(await runs(sessions)) == 3


async def test_auto_create_off_refuses_unknown_tasks_with_404(
    db_url: str, service_id: int, sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = make_settings(db_url, tasks=TasksSettings(auto_create=False))
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get(f"{BASE}/backup")
    assert response.status_code == 404
    assert "unknown task 'backup'" in response.json()["detail"]
    assert await tasks(sessions) == []


async def test_auto_create_off_still_accepts_existing_tasks(
    db_url: str, service_id: int, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with AsyncTestClient(app=create_app(make_settings(db_url))) as client:
        assert (await client.get(f"{BASE}/backup")).status_code == 200
    settings = make_settings(db_url, tasks=TasksSettings(auto_create=False))
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get(f"{BASE}/backup/1")).status_code == 200
    assert [r.status for r in await runs(sessions)] == ["success", "error"]


async def test_database_errors_are_503_with_retry_after_never_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database without Vigil's tables: every lookup and write fails.
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    caplog.set_level(logging.INFO)
    async with AsyncTestClient(app=app) as client:
        response = await client.get(f"{BASE}/backup")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    server_side = [r for r in caplog.records if r.name != "httpx"]
    assert "token lookup failed (OperationalError)" in caplog.text
    assert all(TOKEN not in f"{r.getMessage()} {r.exc_text or ''}" for r in server_side)


async def test_a_ping_that_cannot_be_written_is_503(
    db_url: str, service_id: int, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(make_settings(db_url))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get(f"{BASE}/backup")).status_code == 200  # token now cached
        async with sessions.begin() as session:
            await session.execute(text("DELETE FROM services"))  # tasks go with it (cascade)
        response = await client.get(f"{BASE}/backup")
    assert response.status_code == 503
    assert await runs(sessions) == []
