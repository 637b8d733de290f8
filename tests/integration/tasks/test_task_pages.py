"""Task pages: the list, a task's runs, the schedule form (admin only), a service's fragment."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.auth.helpers import (
    page_token,
)
from tests.integration.tasks.conftest import TOKEN, changes, only, tasks

XSS = "<script>alert(1)</script>"


async def _report_runs(client: Any) -> None:
    for i in range(3):
        await client.get(f"/ping/{TOKEN}/backup/start", params={"rid": f"r{i}"})
        await client.post(f"/ping/{TOKEN}/backup/{i % 2}", params={"rid": f"r{i}"}, content=XSS)


async def test_tasks_page_lists_status_last_run_trend_and_next_expected(viewer: Any) -> None:
    await _report_runs(viewer)
    page = await viewer.get("/tasks")
    assert page.status_code == 200
    text = page.text
    assert '<a href="/tasks/1">backup</a>' in text
    assert "billing" in text  # the service
    assert "Up" in text  # the last run (exit 0) succeeded: status as a word, not colour only
    assert '<svg class="task-spark"' in text
    assert "Duration of the last 3 runs" in text
    assert "1 failed" in text
    assert "every 1 d, grace 1 h" in text
    assert "in 23 h" in text or "in 1 d" in text  # next expected


async def test_task_page_shows_runs_with_logs_escaped_for_a_viewer_without_edit_controls(
    viewer: Any,
) -> None:
    await _report_runs(viewer)
    page = await viewer.get("/tasks/1")
    assert page.status_code == 200
    assert XSS not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert page.text.count("<code>r") == 3  # run ids
    assert "Save schedule" not in page.text
    assert 'action="/tasks/1/pause"' not in page.text
    assert TOKEN not in page.text  # the ping token is for admins
    assert "/ping/&lt;ping token&gt;/backup/start" in page.text


async def test_viewer_cannot_change_a_schedule(viewer: Any, sessions: Any) -> None:
    await viewer.get(f"/ping/{TOKEN}/backup")
    token = await page_token(viewer, "/tasks/1")
    response = await viewer.post(
        "/tasks/1", data={"kind": "period", "_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 403
    assert only(await tasks(sessions)).period_seconds == 86_400


async def test_task_name_is_escaped_everywhere(admin: Any) -> None:
    # Task names are restricted to [A-Za-z0-9_.-]: markup cannot even be stored.
    response = await admin.get("/ping/" + TOKEN + "/%3Cb%3E")
    assert response.status_code == 400
    assert (await admin.get("/tasks")).text.count("<b>") == 0


async def test_admin_sets_a_cron_schedule_and_sees_it(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await admin.get(f"/ping/{TOKEN}/backup")
    page = await admin.get("/tasks/1")
    assert "Save schedule" in page.text
    assert f"/ping/{TOKEN}/backup/start" in page.text
    token = await page_token(admin, "/tasks/1")
    form = {
        "kind": "cron",
        "period_seconds": "86400",
        "cron_expression": "30 2 * * *",
        "timezone": "Europe/Paris",
        "grace_seconds": "900",
        "max_run_seconds": "600",
        "_csrf_token": token,
    }
    saved = await admin.post("/tasks/1", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/tasks/1?saved=1"
    task = only(await tasks(sessions))
    assert (task.schedule_kind, task.cron_expression, task.timezone) == (
        "cron",
        "30 2 * * *",
        "Europe/Paris",
    )
    assert (task.grace_seconds, task.max_run_seconds) == (900, 600)
    assert task.next_expected_at is not None
    assert task.next_expected_at.minute == 30
    page = await admin.get("/tasks/1?saved=1")
    assert "Schedule saved." in page.text
    assert "cron 30 2 * * * (Europe/Paris), grace 15 min" in page.text


async def test_bad_schedule_is_shown_inline_with_the_reason_and_saves_nothing(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await admin.get(f"/ping/{TOKEN}/backup")
    token = await page_token(admin, "/tasks/1")
    form = {
        "kind": "cron",
        "period_seconds": "30",
        "cron_expression": "99 * * * *",
        "timezone": "Europe/Paris",
        "grace_seconds": "-5",
        "max_run_seconds": "600",
        "_csrf_token": token,
    }
    response = await admin.post("/tasks/1", data=form)
    assert response.status_code == 400
    text = response.text
    assert 'id="task-period_seconds-error"' in text
    assert "from 60 to" in text
    assert 'id="task-grace_seconds-error"' in text
    assert 'id="task-cron_expression-error"' in text
    assert "99 * * * *" in text  # the input is kept
    task = only(await tasks(sessions))
    assert (task.schedule_kind, task.period_seconds, task.grace_seconds) == ("period", 86_400, 3600)


async def test_schedule_form_without_csrf_token_is_refused(admin: Any) -> None:
    await admin.get(f"/ping/{TOKEN}/backup")
    response = await admin.post("/tasks/1", data={"kind": "period"}, follow_redirects=False)
    assert response.status_code == 403


async def test_admin_pauses_and_resumes_a_task(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await admin.get(f"/ping/{TOKEN}/backup/1")
    token = await page_token(admin, "/tasks/1")
    await admin.post("/tasks/1/pause", data={"_csrf_token": token})
    assert only(await tasks(sessions)).status == "paused"
    await admin.post("/tasks/1/resume", data={"_csrf_token": token})
    assert only(await tasks(sessions)).status == "failed"
    reasons = [c.reason for c in await changes(sessions)]
    assert reasons[-2:] == ["paused by an admin", "resumed by an admin"]


async def test_unknown_task_is_404(viewer: Any) -> None:
    assert (await viewer.get("/tasks/999")).status_code == 404


async def test_service_fragment_lists_only_that_services_tasks(
    viewer: Any, sessions: async_sessionmaker[AsyncSession], service_id: int
) -> None:
    await viewer.get(f"/ping/{TOKEN}/backup")
    fragment = await viewer.get(f"/services/{service_id}/tasks")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert '<a href="/tasks/1">backup</a>' in fragment.text
    empty = await viewer.get(f"/services/{service_id + 1}/tasks")
    assert "No task has reported yet" in empty.text


async def test_anonymous_visitors_are_sent_to_the_login_page(client: Any) -> None:
    for path in ("/tasks", "/tasks/1", "/services/1/tasks"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
