"""Alert pages: what is firing, the rules (everyone reads; admins write, preview, import),
silences and maintenance windows. Thin: parse the form, call the store, render."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final

import httpx
from litestar import Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import export, rule_store, silence_store, views
from app.alerts.evaluator import Preview, preview
from app.alerts.forms import RuleForm, SilenceForm, WindowForm, parse_utc, utc_text
from app.alerts.models import AlertRule
from app.alerts.rules import RuleError, RuleIn, format_duration, validate_rule
from app.alerts.signals import SIGNALS, SignalContext
from app.alerts.suppression import load_suppression
from app.auth.principal import is_admin, requires_admin
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import IdPath
from app.notify.channels_query import channel_choices
from app.ui.forms import form_from_posted
from app.ui.routes import page

RULES_PATH: Final = "/alerts/rules"
SILENCES_PATH: Final = "/alerts/silences"
MAINTENANCE_PATH: Final = "/alerts/maintenance"
PREVIEW_TIMEOUT: Final = 5.0
PARAMS_SWAPPED: Final = "rule-params-swapped"
"""Event the parameter fields' response raises so the preview follows a signal change."""
NOTICES: Final = {
    "created": "Rule created.",
    "saved": "Changes saved.",
    "enabled": "Rule enabled: it is evaluated from the next tick.",
    "disabled": "Rule disabled: it is no longer evaluated.",
    "duplicated": "This is a disabled copy: change it, then enable it.",
    "deleted": "Rule deleted.",
    "silenced": "Silence created.",
    "expired": "Silence expired.",
    "window": "Maintenance window created.",
    "window-deleted": "Maintenance window deleted.",
}


def _notice(request: Request[Any, Any, Any]) -> str | None:
    key = request.query_params.get("done")
    return NOTICES.get(key) if key else None


# ------------------------------------------------------------------ the alerts page


@get("/alerts", include_in_schema=False)
async def alerts_page(request: Request[Any, Any, Any], state: State) -> Template:
    """Firing and pending series first, then every rule with its state and health."""
    return await _alerts_page(request, state)


async def _alerts_page(
    request: Request[Any, Any, Any],
    state: State,
    *,
    import_error: str | None = None,
    status_code: int = 200,
) -> Template:
    now = utcnow()
    async with app_sessions(state)() as session:
        active = await rule_store.active_series(session)
        rules = await rule_store.list_rules(session)
        suppression = await load_suppression(session, now)
    imported = (
        f"Rules imported: {request.query_params.get('created', '0')} created, "
        f"{request.query_params.get('updated', '0')} replaced."
        if request.query_params.get("done") == "imported"
        else None
    )
    return page(
        request,
        "pages/alerts.html",
        series=views.series_rows(active, now, suppression),
        maintenance_active=suppression.maintenance_active,
        rules=views.rule_rows(rules, views.state_counts(active), now),
        can_edit=is_admin(request),
        notice=imported or _notice(request),
        import_error=import_error,
        symbols=views.STATE_SYMBOLS,
        eval_every=format_duration(max(1, round(state.settings.alerts.eval_interval_seconds))),
        status_code=status_code,
    )


# ------------------------------------------------------------------ the rule form


async def _form_context(
    session: AsyncSession, form: RuleForm, *, error: RuleError | None = None
) -> dict[str, Any]:
    sites = await rule_store.site_names(session)
    services = await rule_store.service_names(session)
    channels = await channel_choices(session)
    chosen = set(form.channels)
    return {
        "form": form,
        "signals": views.choices(views.SIGNAL_LABELS, form.signal),
        "signal_help": views.SIGNAL_HELP,
        "param_fields": views.param_fields(
            form.signal, form.params, sites=sites, services=services
        ),
        "comparisons": views.choices(views.COMPARISON_LABELS, form.comparison),
        "severities": views.choices(views.SEVERITY_LABELS, form.severity),
        "no_data_choices": views.choices(views.NO_DATA_LABELS, form.no_data),
        "channels": [
            views.Choice(str(channel_id), f"{name} ({kind})", str(channel_id) in chosen)
            for channel_id, name, kind in channels
        ],
        "error": error,
        "error_field": _error_field(error),
        "params_swapped": PARAMS_SWAPPED,
    }


def _error_field(error: RuleError | None) -> str | None:
    """The form input an error belongs to (``for_seconds`` is typed in ``for``)."""
    if error is None:
        return None
    return {"for_seconds": "for", "keep_firing_for_seconds": "keep_firing_for"}.get(
        error.field, error.field
    )


async def _rule_form_page(
    request: Request[Any, Any, Any],
    state: State,
    form: RuleForm,
    *,
    rule: AlertRule | None,
    error: RuleError | None = None,
    status_code: int = 200,
) -> Template:
    async with app_sessions(state)() as session:
        context = await _form_context(session, form, error=error)
    return page(
        request,
        "pages/rule_form.html",
        rule=rule,
        action=f"{RULES_PATH}/{rule.id}" if rule else RULES_PATH,
        submit_label="Save changes" if rule else "Create rule",
        **context,
        status_code=status_code,
    )


async def _posted_form(request: Request[Any, Any, Any]) -> RuleForm:
    return RuleForm.from_form((await request.form()).multi_items())


def _validated(form: RuleForm) -> RuleIn:
    return validate_rule(form.raw())


@get(f"{RULES_PATH}/new", include_in_schema=False, guards=[requires_admin])
async def new_rule_page(
    request: Request[Any, Any, Any],
    state: State,
    signal: Annotated[str, QueryParameter()] = "web_vital_p75",
) -> Template:
    """An empty rule form."""
    form = RuleForm(signal=signal if signal in SIGNALS else "web_vital_p75")
    return await _rule_form_page(request, state, form, rule=None)


@post(RULES_PATH, include_in_schema=False, guards=[requires_admin], status_code=303)
async def create_rule_form(request: Request[Any, Any, Any], state: State) -> Template | Redirect:
    """Create the rule; bad input shows the form again with the reason at the field."""
    form = await _posted_form(request)
    try:
        rule = _validated(form)
        async with (
            app_sessions(state).begin() as session,
            rule_store.prometheus_checker(state.settings.alerts.prometheus_url, rule) as http,
        ):
            row = await rule_store.create_rule(
                session,
                rule,
                now=utcnow(),
                prometheus_url=state.settings.alerts.prometheus_url,
                http=http,
            )
    except RuleError as exc:
        return await _rule_form_page(request, state, form, rule=None, error=exc, status_code=400)
    return Redirect(path=f"{RULES_PATH}/{row.id}?done=created", status_code=303)


async def _rule_or_404(state: State, rule_id: int) -> AlertRule:
    async with app_sessions(state)() as session:
        try:
            return await rule_store.get_rule(session, rule_id)
        except rule_store.RuleNotFoundError as exc:
            raise NotFoundException(detail=str(exc)) from None


@get(f"{RULES_PATH}/{{rule_id:int}}/edit", include_in_schema=False, guards=[requires_admin])
async def edit_rule_page(
    request: Request[Any, Any, Any], state: State, rule_id: IdPath
) -> Template:
    """The rule form filled in."""
    rule = await _rule_or_404(state, rule_id)
    return await _rule_form_page(request, state, RuleForm.of(rule), rule=rule)


@post(f"{RULES_PATH}/{{rule_id:int}}", include_in_schema=False, guards=[requires_admin])
async def update_rule_form(
    request: Request[Any, Any, Any], state: State, rule_id: IdPath
) -> Template | Redirect:
    """Save the rule; bad input shows the form again with the reason at the field."""
    existing = await _rule_or_404(state, rule_id)
    form = await _posted_form(request)
    try:
        rule = _validated(form)
        async with (
            app_sessions(state).begin() as session,
            rule_store.prometheus_checker(state.settings.alerts.prometheus_url, rule) as http,
        ):
            await rule_store.update_rule(
                session,
                rule_id,
                rule,
                now=utcnow(),
                prometheus_url=state.settings.alerts.prometheus_url,
                http=http,
            )
    except rule_store.RuleNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    except RuleError as exc:
        return await _rule_form_page(
            request, state, form, rule=existing, error=exc, status_code=400
        )
    return Redirect(path=f"{RULES_PATH}/{rule_id}?done=saved", status_code=303)


@get(f"{RULES_PATH}/params", include_in_schema=False, guards=[requires_admin])
async def rule_params_fragment(request: Request[Any, Any, Any], state: State) -> Template:
    """The chosen signal's parameter fields (HTMX swaps them in when the signal changes);
    values of parameters the signals share are kept."""
    form = RuleForm.from_form(request.query_params.multi_items())
    async with app_sessions(state)() as session:
        context = await _form_context(session, form)
    return Template(
        template_name="partials/_rule_params.html",
        context=context,
        headers={"HX-Trigger-After-Settle": PARAMS_SWAPPED},
    )


@post(f"{RULES_PATH}/preview", include_in_schema=False, guards=[requires_admin], status_code=200)
async def rule_preview_fragment(request: Request[Any, Any, Any], state: State) -> Template:
    """Evaluate the rule as typed, now, storing nothing: "would be firing now for ..."."""
    form = await _posted_form(request)
    result: Preview | None = None
    error: RuleError | None = None
    try:
        rule = _validated(form)
    except RuleError as exc:
        error = exc
    else:
        result = await _preview(state, rule)
    return Template(
        template_name="partials/_rule_preview.html",
        context={"preview": views.preview_view(result, error, no_data_policy=form.no_data)},
    )


@asynccontextmanager
async def _signal_context(state: State, rule: RuleIn) -> AsyncIterator[SignalContext]:
    url: str = state.settings.alerts.prometheus_url
    scrapes = getattr(state, "scrapes", None)
    if rule.signal == "promql" and url:
        async with httpx.AsyncClient(timeout=PREVIEW_TIMEOUT) as http:
            yield SignalContext(
                now=utcnow(),
                prometheus_url=url,
                http=http,
                scrapes=scrapes,
                timeout_seconds=PREVIEW_TIMEOUT,
            )
        return
    yield SignalContext(now=utcnow(), prometheus_url=url, scrapes=scrapes)


async def _preview(state: State, rule: RuleIn) -> Preview:
    async with _signal_context(state, rule) as ctx:
        return await preview(app_sessions(state), rule, ctx)


# ------------------------------------------------------------------ one rule


@get(f"{RULES_PATH}/{{rule_id:int}}", include_in_schema=False)
async def rule_page(request: Request[Any, Any, Any], state: State, rule_id: IdPath) -> Template:
    """A rule: its settings, health, current series and transition history."""
    now = utcnow()
    async with app_sessions(state)() as session:
        try:
            rule = await rule_store.get_rule(session, rule_id)
        except rule_store.RuleNotFoundError as exc:
            raise NotFoundException(detail=str(exc)) from None
        series = await rule_store.rule_series(session, rule_id)
        history = await rule_store.transitions(session, rule_id)
        channels = {cid: f"{name} ({kind})" for cid, name, kind in await channel_choices(session)}
    return page(
        request,
        "pages/rule.html",
        rule=views.rule_detail(rule, channels, now),
        series=views.series_rows([(s, rule) for s in series], now),
        history=views.transition_rows(history),
        can_edit=is_admin(request),
        notice=_notice(request),
        symbols=views.STATE_SYMBOLS,
    )


@post(
    f"{RULES_PATH}/{{rule_id:int}}/enable",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def enable_rule_form(state: State, rule_id: IdPath) -> Redirect:
    return await _set_enabled(state, rule_id, enabled=True)


@post(
    f"{RULES_PATH}/{{rule_id:int}}/disable",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def disable_rule_form(state: State, rule_id: IdPath) -> Redirect:
    return await _set_enabled(state, rule_id, enabled=False)


async def _set_enabled(state: State, rule_id: int, *, enabled: bool) -> Redirect:
    try:
        async with app_sessions(state).begin() as session:
            await rule_store.set_enabled(session, rule_id, enabled=enabled, now=utcnow())
    except rule_store.RuleNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    done = "enabled" if enabled else "disabled"
    return Redirect(path=f"{RULES_PATH}/{rule_id}?done={done}", status_code=303)


@post(
    f"{RULES_PATH}/{{rule_id:int}}/duplicate",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def duplicate_rule_form(state: State, rule_id: IdPath) -> Redirect:
    """Copy the rule (disabled) and open the copy."""
    try:
        async with app_sessions(state).begin() as session:
            copy = await rule_store.duplicate_rule(session, rule_id, now=utcnow())
    except rule_store.RuleNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    return Redirect(path=f"{RULES_PATH}/{copy.id}?done=duplicated", status_code=303)


@get(f"{RULES_PATH}/{{rule_id:int}}/delete", include_in_schema=False, guards=[requires_admin])
async def delete_rule_page(
    request: Request[Any, Any, Any], state: State, rule_id: IdPath
) -> Template:
    """Ask before deleting."""
    rule = await _rule_or_404(state, rule_id)
    return page(request, "pages/rule_delete.html", rule=rule)


@post(
    f"{RULES_PATH}/{{rule_id:int}}/delete",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def delete_rule_form(state: State, rule_id: IdPath) -> Redirect:
    """Delete the rule with its series and history."""
    try:
        async with app_sessions(state).begin() as session:
            await rule_store.delete_rule(session, rule_id)
    except rule_store.RuleNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    return Redirect(path="/alerts?done=deleted", status_code=303)


# ------------------------------------------------------------------ export and import


@get(f"{RULES_PATH}/export", include_in_schema=False)
async def export_rules_file(
    state: State, fmt: Annotated[export.Format, QueryParameter(name="format")] = "vigil"
) -> Response[str]:
    """The rules as a YAML file to download."""
    async with app_sessions(state)() as session:
        text = await export.export_rules(session, fmt)
    filename = "vigil-rules.yml" if fmt == "vigil" else "vigil-prometheus-rules.yml"
    return Response(
        content=text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@post(f"{RULES_PATH}/import", include_in_schema=False, guards=[requires_admin], status_code=303)
async def import_rules_form(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template | Redirect:
    """Import a rule file: every rule is checked first; one bad rule imports nothing."""
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _alerts_page(
            request, state, import_error="Choose a rule file to import.", status_code=400
        )
    content = await upload.read(export.MAX_FILE_BYTES + 1)
    try:
        text = content.decode("utf-8")
        async with app_sessions(state).begin() as session:
            result = await export.import_rules(session, text, now=utcnow())
    except UnicodeDecodeError:
        return await _alerts_page(
            request, state, import_error="The file is not UTF-8 text.", status_code=400
        )
    except export.RuleFileError as exc:
        return await _alerts_page(
            request, state, import_error=f"Nothing imported: {exc}", status_code=400
        )
    return Redirect(
        path=f"/alerts?done=imported&created={result.created}&updated={result.updated}",
        status_code=303,
    )


# ------------------------------------------------------------------ silences


async def _silences_page(
    request: Request[Any, Any, Any],
    state: State,
    *,
    form: SilenceForm | None = None,
    error: silence_store.InputError | None = None,
    status_code: int = 200,
) -> Template:
    now = utcnow()
    async with app_sessions(state)() as session:
        silences = await silence_store.list_silences(session, now=now)
    default_form = SilenceForm(
        starts_at=utc_text(now), ends_at=utc_text(now + silence_store.DEFAULT_SILENCE)
    )
    return page(
        request,
        "pages/silences.html",
        silences=views.silence_rows(silences, now),
        form=form or default_form,
        error=error,
        can_edit=is_admin(request),
        notice=_notice(request),
        status_code=status_code,
    )


@get(SILENCES_PATH, include_in_schema=False)
async def silences_page(request: Request[Any, Any, Any], state: State) -> Template:
    """Active, pending and expired silences; admins also get the form for a new one."""
    return await _silences_page(request, state)


@post(SILENCES_PATH, include_in_schema=False, guards=[requires_admin], status_code=303)
async def create_silence_form(request: Request[Any, Any, Any], state: State) -> Template | Redirect:
    """Create a silence authored by the signed-in user."""
    form = form_from_posted(SilenceForm, await request.form())
    now = utcnow()
    try:
        fields = silence_store.check_silence(
            matchers=silence_store.matchers_from_lines(form.matcher_lines()),
            starts_at=parse_utc(form.starts_at, field="starts_at") if form.starts_at else now,
            ends_at=parse_utc(form.ends_at, field="ends_at"),
            comment=form.comment,
            now=now,
        )
        async with app_sessions(state).begin() as session:
            await silence_store.create_silence(session, fields, author=request.user.email, now=now)
    except silence_store.InputError as exc:
        return await _silences_page(request, state, form=form, error=exc, status_code=400)
    return Redirect(path=f"{SILENCES_PATH}?done=silenced", status_code=303)


@post(
    f"{SILENCES_PATH}/{{silence_id:int}}/expire",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def expire_silence_form(
    request: Request[Any, Any, Any], state: State, silence_id: IdPath
) -> Template | Redirect:
    """End a silence now."""
    try:
        async with app_sessions(state).begin() as session:
            await silence_store.expire_silence(session, silence_id, now=utcnow())
    except silence_store.NotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    except silence_store.InputError as exc:
        return await _silences_page(request, state, error=exc, status_code=409)
    return Redirect(path=f"{SILENCES_PATH}?done=expired", status_code=303)


# ------------------------------------------------------------------ maintenance


async def _maintenance_page(
    request: Request[Any, Any, Any],
    state: State,
    *,
    form: WindowForm | None = None,
    error: silence_store.InputError | None = None,
    status_code: int = 200,
) -> Template:
    now = utcnow()
    async with app_sessions(state)() as session:
        windows = await silence_store.list_windows(session)
        services = await rule_store.service_names(session)
    default_form = WindowForm(
        starts_at=utc_text(now), ends_at=utc_text(now + silence_store.DEFAULT_SILENCE)
    )
    form = form or default_form
    return page(
        request,
        "pages/maintenance.html",
        windows=views.window_rows(windows, services, now),
        form=form,
        services=[
            views.Choice("", "All services (global)", form.service_id == ""),
            *(
                views.Choice(str(i), name, form.service_id == str(i))
                for i, name in services.items()
            ),
        ],
        weekdays=[
            views.Choice(str(i), day, form.weekday == str(i))
            for i, day in enumerate(silence_store.WEEKDAYS)
        ],
        timezones=views.TIMEZONES,
        error=error,
        can_edit=is_admin(request),
        notice=_notice(request),
        status_code=status_code,
    )


@get(MAINTENANCE_PATH, include_in_schema=False)
async def maintenance_page(request: Request[Any, Any, Any], state: State) -> Template:
    """Maintenance windows, active ones marked; admins also get the form for a new one."""
    return await _maintenance_page(request, state)


@post(MAINTENANCE_PATH, include_in_schema=False, guards=[requires_admin], status_code=303)
async def create_window_form(request: Request[Any, Any, Any], state: State) -> Template | Redirect:
    """Create a one-off or weekly maintenance window."""
    form = form_from_posted(WindowForm, await request.form())
    try:
        fields = silence_store.check_window(**form.fields())
        async with app_sessions(state).begin() as session:
            await silence_store.create_window(session, fields, now=utcnow())
    except silence_store.InputError as exc:
        return await _maintenance_page(request, state, form=form, error=exc, status_code=400)
    return Redirect(path=f"{MAINTENANCE_PATH}?done=window", status_code=303)


@post(
    f"{MAINTENANCE_PATH}/{{window_id:int}}/delete",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def delete_window_form(state: State, window_id: IdPath) -> Redirect:
    """Delete a maintenance window."""
    try:
        async with app_sessions(state).begin() as session:
            await silence_store.delete_window(session, window_id)
    except silence_store.NotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    return Redirect(path=f"{MAINTENANCE_PATH}?done=window-deleted", status_code=303)


alert_page_routes = [
    alerts_page,
    new_rule_page,
    create_rule_form,
    rule_params_fragment,
    rule_preview_fragment,
    export_rules_file,
    import_rules_form,
    rule_page,
    edit_rule_page,
    update_rule_form,
    enable_rule_form,
    disable_rule_form,
    duplicate_rule_form,
    delete_rule_page,
    delete_rule_form,
    silences_page,
    create_silence_form,
    expire_silence_form,
    maintenance_page,
    create_window_form,
    delete_window_form,
]
"""Route handlers of the alert pages."""
