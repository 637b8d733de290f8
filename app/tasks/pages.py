"""Task pages: the list, one task with its runs (admins edit its schedule), a service's tasks."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from app.auth.principal import is_admin, requires_admin
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import IdPath
from app.tasks import queries, views
from app.tasks.queries import TaskNotFoundError
from app.tasks.runs import TaskState
from app.ui.notices import query_notice
from app.ui.routes import page

TASKS_PATH = "/tasks"


def _helpers() -> dict[str, Any]:
    return {
        "task_badge": views.task_badge,
        "run_badge": views.run_badge,
        "duration_text": views.duration_text,
        "relative_text": views.relative_text,
        "utc_text": views.utc_text,
        "schedule_text": lambda task: views.schedule_text(TaskState.of(task).schedule),
        "sparkline": views.sparkline,
        "now": utcnow(),
    }


@get(TASKS_PATH, include_in_schema=False)
async def tasks_page(request: Request[Any, Any, Any], state: State) -> Template:
    """Every task with its status, last run, duration trend and next expected run."""
    lines = await queries.task_lines(app_sessions(state))
    return page(
        request,
        "pages/tasks.html",
        service_lines=[line for line in lines if line.task.service_id is not None],
        job_lines=[line for line in lines if line.task.service_id is None],
        public_url=state.settings.server.public_url.rstrip("/"),
        **_helpers(),
    )


async def _task_page(
    request: Request[Any, Any, Any],
    state: State,
    task_id: int,
    *,
    form: views.ScheduleForm | None = None,
    status_code: int = 200,
) -> Template:
    try:
        detail = await queries.task_detail(app_sessions(state), task_id)
    except TaskNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    admin = is_admin(request)
    notice = {"saved": "Schedule saved.", "paused": "Task paused.", "resumed": "Task resumed."}
    return page(
        request,
        "pages/task.html",
        detail=detail,
        task=detail.line.task,
        can_edit=admin,
        show_token=admin,
        form=form or views.ScheduleForm.of(detail.line.task),
        public_url=state.settings.server.public_url.rstrip("/"),
        notice=query_notice(request, notice),
        status_code=status_code,
        **_helpers(),
    )


@get(f"{TASKS_PATH}/{{task_id:int}}", include_in_schema=False)
async def task_page(request: Request[Any, Any, Any], state: State, task_id: IdPath) -> Template:
    """One task: status, schedule, ping URLs, run history with logs, status changes."""
    return await _task_page(request, state, task_id)


@post(
    f"{TASKS_PATH}/{{task_id:int}}",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def update_schedule_form(
    request: Request[Any, Any, Any],
    state: State,
    task_id: IdPath,
    data: URLEncodedBody[views.ScheduleForm],
) -> Template | Redirect:
    """Save the schedule; bad input re-shows the form with the reason next to each field."""
    parsed = data.parsed()
    if parsed is None:
        return await _task_page(request, state, task_id, form=data, status_code=400)
    schedule, max_run = parsed
    try:
        await queries.set_schedule(
            app_sessions(state),
            task_id=task_id,
            schedule=schedule,
            max_run_seconds=max_run,
            now=utcnow(),
        )
    except TaskNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    return Redirect(path=f"{TASKS_PATH}/{task_id}?saved=1", status_code=303)


async def _set_paused(state: State, task_id: int, *, paused: bool) -> Redirect:
    try:
        await queries.set_paused(app_sessions(state), task_id=task_id, paused=paused, now=utcnow())
    except TaskNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    flag = "paused" if paused else "resumed"
    return Redirect(path=f"{TASKS_PATH}/{task_id}?{flag}=1", status_code=303)


@post(
    f"{TASKS_PATH}/{{task_id:int}}/pause",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def pause_task_form(state: State, task_id: IdPath) -> Redirect:
    """Stop watching the task (never overdue while paused; its next ping resumes it)."""
    return await _set_paused(state, task_id, paused=True)


@post(
    f"{TASKS_PATH}/{{task_id:int}}/resume",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def resume_task_form(state: State, task_id: IdPath) -> Redirect:
    """Watch the task again."""
    return await _set_paused(state, task_id, paused=False)


@get("/services/{service_id:int}/tasks", include_in_schema=False)
async def service_tasks_fragment(
    request: Request[Any, Any, Any], state: State, service_id: IdPath
) -> Template:
    """The tasks of one service, for its page (loaded by htmx)."""
    lines = await queries.task_lines(app_sessions(state), service_id=service_id)
    return Template(
        template_name="partials/_service_tasks.html",
        context={
            "lines": lines,
            "service_id": service_id,
            "public_url": state.settings.server.public_url.rstrip("/"),
            "can_edit": is_admin(request),
            **_helpers(),
        },
    )


task_page_routes = [
    tasks_page,
    task_page,
    update_schedule_form,
    pause_task_form,
    resume_task_form,
    service_tasks_fragment,
]
"""Route handlers of the task pages."""
