"""Channel and notification pages under ``/admin``: everyone signed in reads, admins edit."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from app.auth.principal import is_admin, requires_admin
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import BigIdPath, IdPath
from app.notify import channels, kinds, notifications, views
from app.notify.models import CHANNEL_KINDS, Channel
from app.notify.probe import send_test
from app.notify.views import ChannelForm
from app.ui.notices import query_notice
from app.ui.routes import page

CHANNELS_PATH = "/admin/channels"
NOTIFICATIONS_PATH = "/admin/notifications"


def _form_context(form: ChannelForm, error: str | None) -> dict[str, Any]:
    return {
        "form": form,
        "fields": views.KIND_FIELDS.get(form.kind, ()),
        "kinds": [(kind, kinds.KINDS[kind].label) for kind in CHANNEL_KINDS],
        "severity_choices": views.SEVERITY_CHOICES,
        "placeholder": views.mask_placeholder,
        "error": error,
        "error_field": views.error_field(error) if error else None,
    }


async def _form_data(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    return {key: form.getall(key) for key in form}


async def _channel_or_404(state: State, channel_id: int) -> Channel:
    channel = await channels.get_channel(app_sessions(state), channel_id=channel_id)
    if channel is None:
        raise NotFoundException(detail=f"no channel with id {channel_id}")
    return channel


@get(CHANNELS_PATH, include_in_schema=False)
async def channels_page(request: Request[Any, Any, Any], state: State) -> Template:
    """Every channel with its kind, routing and state."""
    sessions = app_sessions(state)
    return page(
        request,
        "pages/channels.html",
        channels=await channels.list_channels(sessions),
        labels={kind: spec.label for kind, spec in kinds.KINDS.items()},
        counts=await notifications.count_by_status(sessions),
        can_edit=is_admin(request),
    )


@get(f"{CHANNELS_PATH}/new", include_in_schema=False, guards=[requires_admin])
async def new_channel_page(
    request: Request[Any, Any, Any],
    kind: Annotated[str, QueryParameter()] = "webhook",
) -> Template:
    """The form for a new channel of ``kind``."""
    return page(
        request,
        "pages/channel_form.html",
        channel=None,
        **_form_context(ChannelForm.blank(kind), None),
    )


@get(f"{CHANNELS_PATH}/fields", include_in_schema=False, guards=[requires_admin])
async def channel_fields(
    request: Request[Any, Any, Any], kind: Annotated[str, QueryParameter()] = "webhook"
) -> Template:
    """The config inputs of ``kind`` (swapped in by HTMX when the kind changes)."""
    del request
    return Template(
        template_name="partials/_channel_fields.html",
        context=_form_context(ChannelForm.blank(kind), None),
    )


def _form_page(
    request: Request[Any, Any, Any], form: ChannelForm, error: str, channel: Channel | None
) -> Template:
    return page(
        request,
        "pages/channel_form.html",
        channel=channel,
        status_code=400,
        **_form_context(form, error),
    )


@post(CHANNELS_PATH, include_in_schema=False, guards=[requires_admin], status_code=303)
async def create_channel_form(request: Request[Any, Any, Any], state: State) -> Template | Redirect:
    """Create the channel; bad input re-shows the form with the reason at the field."""
    form = ChannelForm.parse(await _form_data(request))
    try:
        channel = await channels.create_channel(
            app_sessions(state),
            name=form.name,
            kind=form.kind,
            config=form.config_input(),
            enabled=form.enabled,
            severities=form.severities,
            label_matchers=form.matchers_input(),
        )
    except channels.ChannelError as exc:
        return _form_page(request, form, str(exc), None)
    return Redirect(path=f"{CHANNELS_PATH}/{channel.id}?created=1", status_code=303)


def _channel_page(
    request: Request[Any, Any, Any],
    channel: Channel,
    *,
    test_error: str | None = None,
    tested: bool = False,
) -> Template:
    notice = {"created": "Channel created.", "saved": "Changes saved."}
    return page(
        request,
        "pages/channel.html",
        channel=channel,
        kind_label=kinds.KINDS[channel.kind].label,
        facts=views.config_facts(channel),
        can_edit=is_admin(request),
        notice=query_notice(request, notice),
        tested=tested,
        test_error=test_error,
    )


@get(f"{CHANNELS_PATH}/{{channel_id:int}}", include_in_schema=False)
async def channel_page(
    request: Request[Any, Any, Any], state: State, channel_id: IdPath
) -> Template:
    """One channel: its config (secrets masked), routing, and for admins test/edit/delete."""
    return _channel_page(request, await _channel_or_404(state, channel_id))


@get(f"{CHANNELS_PATH}/{{channel_id:int}}/edit", include_in_schema=False, guards=[requires_admin])
async def edit_channel_page(
    request: Request[Any, Any, Any], state: State, channel_id: IdPath
) -> Template:
    """The channel's form; secrets are not shown (empty keeps them)."""
    channel = await _channel_or_404(state, channel_id)
    return page(
        request,
        "pages/channel_form.html",
        channel=channel,
        **_form_context(ChannelForm.of(channel), None),
    )


@post(
    f"{CHANNELS_PATH}/{{channel_id:int}}",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def update_channel_form(
    request: Request[Any, Any, Any], state: State, channel_id: IdPath
) -> Template | Redirect:
    """Save the channel; bad input re-shows the form with the reason at the field."""
    channel = await _channel_or_404(state, channel_id)
    form = ChannelForm.parse(await _form_data(request))
    form.secrets_set = (
        ChannelForm.of(channel).secrets_set if form.kind == channel.kind else frozenset()
    )
    try:
        await channels.update_channel(
            app_sessions(state),
            channel_id=channel_id,
            name=form.name,
            kind=form.kind,
            config=form.config_input(),
            enabled=form.enabled,
            severities=form.severities,
            label_matchers=form.matchers_input(),
        )
    except channels.ChannelNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    except channels.ChannelError as exc:
        return _form_page(request, form, str(exc), channel)
    return Redirect(path=f"{CHANNELS_PATH}/{channel_id}?saved=1", status_code=303)


@post(
    f"{CHANNELS_PATH}/{{channel_id:int}}/test",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=200,
)
async def test_channel_form(
    request: Request[Any, Any, Any], state: State, channel_id: IdPath
) -> Template:
    """Send a test notification now; HTMX gets the result alone, a plain form the page."""
    channel = await _channel_or_404(state, channel_id)
    error = await send_test(
        channel,
        public_url=state.settings.server.public_url,
        now=utcnow(),
        timeout_seconds=state.settings.notify.timeout_seconds,
    )
    if request.headers.get("HX-Request") == "true":
        return Template(
            template_name="partials/_channel_test_result.html",
            context={"channel": channel, "tested": True, "test_error": error},
        )
    return _channel_page(request, channel, tested=True, test_error=error)


@get(f"{CHANNELS_PATH}/{{channel_id:int}}/delete", include_in_schema=False, guards=[requires_admin])
async def delete_channel_page(
    request: Request[Any, Any, Any], state: State, channel_id: IdPath
) -> Template:
    """Ask before deleting."""
    channel = await _channel_or_404(state, channel_id)
    return page(request, "pages/channel_delete.html", channel=channel)


@post(
    f"{CHANNELS_PATH}/{{channel_id:int}}/delete",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def delete_channel_form(state: State, channel_id: IdPath) -> Redirect:
    """Delete the channel (and its undelivered notifications) and go back to the list."""
    if not await channels.delete_channel(app_sessions(state), channel_id=channel_id):
        raise NotFoundException(detail=f"no channel with id {channel_id}")
    return Redirect(path=CHANNELS_PATH, status_code=303)


@get(NOTIFICATIONS_PATH, include_in_schema=False)
async def notifications_page(request: Request[Any, Any, Any], state: State) -> Template:
    """Notifications not delivered yet (pending, sending) or given up (dead)."""
    sessions = app_sessions(state)
    return page(
        request,
        "pages/notifications.html",
        rows=await notifications.list_undelivered(sessions),
        counts=await notifications.count_by_status(sessions),
        can_edit=is_admin(request),
        retried="retried" in request.query_params,
        max_attempts=state.settings.notify.max_attempts,
    )


@post(
    f"{NOTIFICATIONS_PATH}/{{entry_id:int}}/retry",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def retry_notification(state: State, entry_id: BigIdPath) -> Redirect:
    """Send a dead notification again with a fresh set of attempts."""
    if not await notifications.retry_dead(app_sessions(state), entry_id=entry_id, now=utcnow()):
        raise NotFoundException(detail=f"no dead notification with id {entry_id}")
    return Redirect(path=f"{NOTIFICATIONS_PATH}?retried=1", status_code=303)


notify_page_routes = [
    channels_page,
    new_channel_page,
    channel_fields,
    create_channel_form,
    channel_page,
    edit_channel_page,
    update_channel_form,
    test_channel_form,
    delete_channel_page,
    delete_channel_form,
    notifications_page,
    retry_notification,
]
"""Route handlers of the channel and notification pages."""
