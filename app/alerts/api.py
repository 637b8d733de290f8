"""``/api/v1/rules``, ``/api/v1/silences`` and ``/api/v1/maintenance``.

Reading needs any token; changing needs a ``write`` token (checked by the auth middleware)
of an admin. Bad input gets 400 naming the field (``{"detail": "threshold: expected a
number, got 'abc'", "extra": {"field": "threshold"}}``), a taken rule name 409, an unknown
id 404; nothing is saved then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, time
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import JSONBody
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import rule_store, silence_store
from app.alerts.forms import parse_time
from app.alerts.models import AlertRule, AlertSilence, MaintenanceWindow
from app.alerts.rules import RuleError, validate_rule
from app.auth.principal import requires_admin
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import BodyId, IdPath

UNSET = msgspec.UNSET
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
Duration = int | float | str
"""Seconds, or a Prometheus duration such as ``5m`` or ``1h30m``."""


class RuleBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A rule to create (or, for PATCH, the fields to change). ``for`` / ``keep_firing_for``
    take durations (``5m``), the ``*_seconds`` fields seconds. Loose types on purpose: every
    value is checked by ``validate_rule``, whose errors name the field."""

    name: str | msgspec.UnsetType | None = UNSET
    signal: str | msgspec.UnsetType | None = UNSET
    params: dict[str, Any] | msgspec.UnsetType = UNSET
    comparison: str | msgspec.UnsetType = UNSET
    threshold: float | str | msgspec.UnsetType | None = UNSET
    for_: Duration | msgspec.UnsetType = msgspec.field(default=UNSET, name="for")
    for_seconds: Duration | msgspec.UnsetType = UNSET
    keep_firing_for: Duration | msgspec.UnsetType = UNSET
    keep_firing_for_seconds: Duration | msgspec.UnsetType = UNSET
    severity: str | msgspec.UnsetType = UNSET
    labels: dict[str, str] | msgspec.UnsetType = UNSET
    annotations: dict[str, str] | msgspec.UnsetType = UNSET
    no_data: str | msgspec.UnsetType = UNSET
    enabled: bool | str | msgspec.UnsetType = UNSET
    channel_ids: list[int | str] | msgspec.UnsetType = UNSET

    def given(self) -> dict[str, Any]:
        """The fields present in the body, by their wire names."""
        raw = msgspec.to_builtins(self)
        assert isinstance(raw, dict)
        return raw


class RuleOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    signal: str
    params: dict[str, Any]
    comparison: str
    threshold: float
    for_seconds: int
    keep_firing_for_seconds: int
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    no_data: str
    enabled: bool
    channel_ids: list[int]
    health: str
    last_error: str | None
    last_evaluated_at: datetime | None
    last_evaluation_seconds: float | None
    created_at: datetime
    updated_at: datetime
    firing: int
    """Series firing now."""
    pending: int
    """Series whose condition holds, waiting for ``for``."""


class TransitionOut(msgspec.Struct, kw_only=True):
    labels: dict[str, str]
    from_state: str
    to_state: str
    value: float | None
    at: datetime


class MatcherBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    op: str
    value: str


class SilenceBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A silence: ``starts_at`` defaults to now; times are RFC 3339 with an offset."""

    matchers: list[MatcherBody]
    ends_at: AwareDatetime
    comment: str
    starts_at: AwareDatetime | None = None


class SilenceOut(msgspec.Struct, kw_only=True):
    id: int
    matchers: list[dict[str, str]]
    starts_at: datetime
    ends_at: datetime
    comment: str
    author: str
    status: Literal["active", "pending", "expired"]
    created_at: datetime


class WindowBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A maintenance window: ``once`` needs ``starts_at``/``ends_at``; ``weekly`` needs
    ``weekday`` (0 = Monday), ``start_time`` (``02:30``), ``duration_minutes``, ``timezone``."""

    name: str
    kind: Literal["once", "weekly"]
    service_id: BodyId | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    weekday: int | None = None
    start_time: str | None = None
    """Local time of day, ``02:30`` or ``02:30:00``."""
    duration_minutes: int | None = None
    timezone: str | None = None
    comment: str = ""


class WindowOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    service_id: int | None
    kind: str
    starts_at: datetime | None
    ends_at: datetime | None
    weekday: int | None
    start_time: time | None
    duration_minutes: int | None
    timezone: str | None
    comment: str
    created_at: datetime


def _prometheus_url(state: State) -> str:
    url: str = state.settings.alerts.prometheus_url
    return url


@asynccontextmanager
async def _writing(state: State) -> AsyncIterator[AsyncSession]:
    """A transaction whose refusals become 400 / 404 / 409; committed only on success."""
    try:
        async with app_sessions(state).begin() as session:
            yield session
    except rule_store.DuplicateRuleError as exc:
        raise HTTPException(status_code=409, detail=str(exc), extra={"field": exc.field}) from None
    except (RuleError, silence_store.InputError) as exc:
        raise ValidationException(detail=str(exc), extra={"field": exc.field}) from None
    except (rule_store.RuleNotFoundError, silence_store.NotFoundError) as exc:
        raise NotFoundException(detail=str(exc)) from None
    except IntegrityError:
        raise HTTPException(
            status_code=409, detail="the change conflicts with stored data (a taken rule name?)"
        ) from None


def rule_out(rule: AlertRule, counts: Mapping[str, int] | None = None) -> RuleOut:
    counts = counts or {}
    return RuleOut(
        id=rule.id,
        **rule_store.rule_fields(rule),
        health=rule.health,
        last_error=rule.last_error,
        last_evaluated_at=rule.last_evaluated_at,
        last_evaluation_seconds=rule.last_evaluation_seconds,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
        firing=counts.get("firing", 0),
        pending=counts.get("pending", 0),
    )


# ------------------------------------------------------------------ rules


@get("/api/v1/rules", tags=["alerts"])
async def list_rules(state: State) -> list[RuleOut]:
    """Every alert rule, by name, with its health, last evaluation and series counts."""
    async with app_sessions(state)() as session:
        counts = await rule_store.series_counts(session)
        return [rule_out(r, counts.get(r.id)) for r in await rule_store.list_rules(session)]


@get("/api/v1/rules/{rule_id:int}", tags=["alerts"])
async def get_rule(state: State, rule_id: IdPath) -> RuleOut:
    """One rule; 404 when there is none with this id."""
    async with _writing(state) as session:
        rule = await rule_store.get_rule(session, rule_id)
        return rule_out(rule, (await rule_store.series_counts(session)).get(rule_id))


@get("/api/v1/rules/{rule_id:int}/transitions", tags=["alerts"])
async def rule_transitions(state: State, rule_id: IdPath) -> list[TransitionOut]:
    """The rule's latest state changes (at most 100), newest first."""
    async with _writing(state) as session:
        await rule_store.get_rule(session, rule_id)
        return [
            TransitionOut(
                labels=t.labels,
                from_state=t.from_state,
                to_state=t.to_state,
                value=t.value,
                at=t.at,
            )
            for t in await rule_store.transitions(session, rule_id)
        ]


@post("/api/v1/rules", tags=["alerts"], guards=[requires_admin], status_code=201)
async def create_rule(state: State, data: JSONBody[RuleBody]) -> RuleOut:
    """Create a rule; every field is checked first, then the name and the channels."""
    async with _writing(state) as session:
        rule = validate_rule(data.given())
        async with rule_store.prometheus_checker(_prometheus_url(state), rule) as http:
            row = await rule_store.create_rule(
                session, rule, now=utcnow(), prometheus_url=_prometheus_url(state), http=http
            )
        return rule_out(row)


@patch("/api/v1/rules/{rule_id:int}", tags=["alerts"], guards=[requires_admin])
async def update_rule(state: State, rule_id: IdPath, data: JSONBody[RuleBody]) -> RuleOut:
    """Change the fields given (the rule is checked as a whole); others keep their value."""
    async with _writing(state) as session:
        rule = rule_store.merged(await rule_store.get_rule(session, rule_id), data.given())
        async with rule_store.prometheus_checker(_prometheus_url(state), rule) as http:
            row = await rule_store.update_rule(
                session,
                rule_id,
                rule,
                now=utcnow(),
                prometheus_url=_prometheus_url(state),
                http=http,
            )
        return rule_out(row)


@delete("/api/v1/rules/{rule_id:int}", tags=["alerts"], guards=[requires_admin])
async def delete_rule(state: State, rule_id: IdPath) -> None:
    """Delete the rule with its series and history."""
    async with _writing(state) as session:
        await rule_store.delete_rule(session, rule_id)


@post(
    "/api/v1/rules/{rule_id:int}/enable", tags=["alerts"], guards=[requires_admin], status_code=200
)
async def enable_rule(state: State, rule_id: IdPath) -> RuleOut:
    """Evaluate the rule again from the next tick."""
    async with _writing(state) as session:
        return rule_out(await rule_store.set_enabled(session, rule_id, enabled=True, now=utcnow()))


@post(
    "/api/v1/rules/{rule_id:int}/disable", tags=["alerts"], guards=[requires_admin], status_code=200
)
async def disable_rule(state: State, rule_id: IdPath) -> RuleOut:
    """Stop evaluating the rule."""
    async with _writing(state) as session:
        return rule_out(await rule_store.set_enabled(session, rule_id, enabled=False, now=utcnow()))


@post(
    "/api/v1/rules/{rule_id:int}/duplicate",
    tags=["alerts"],
    guards=[requires_admin],
    status_code=201,
)
async def duplicate_rule(state: State, rule_id: IdPath) -> RuleOut:
    """A disabled copy named ``<name> (copy)``."""
    async with _writing(state) as session:
        return rule_out(await rule_store.duplicate_rule(session, rule_id, now=utcnow()))


# ------------------------------------------------------------------ silences


def silence_out(silence: AlertSilence, now: datetime) -> SilenceOut:
    return SilenceOut(
        id=silence.id,
        matchers=list(silence.matchers),
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        comment=silence.comment,
        author=silence.author,
        status=silence_store.silence_status(silence, now),
        created_at=silence.created_at,
    )


@get("/api/v1/silences", tags=["alerts"])
async def list_silences(state: State) -> list[SilenceOut]:
    """Active and pending silences, then the latest expired ones."""
    now = utcnow()
    async with app_sessions(state)() as session:
        return [silence_out(s, now) for s in await silence_store.list_silences(session, now=now)]


@post("/api/v1/silences", tags=["alerts"], guards=[requires_admin], status_code=201)
async def create_silence(
    request: Request[Any, Any, Any], state: State, data: JSONBody[SilenceBody]
) -> SilenceOut:
    """Hold back notifications of matching series from ``starts_at`` (default now) to
    ``ends_at``; the author is the token's user."""
    now = utcnow()
    async with _writing(state) as session:
        fields = silence_store.check_silence(
            matchers=silence_store.matchers_from_json(msgspec.to_builtins(data.matchers)),
            starts_at=data.starts_at or now,
            ends_at=data.ends_at,
            comment=data.comment,
            now=now,
        )
        silence = await silence_store.create_silence(
            session, fields, author=request.user.email, now=now
        )
        return silence_out(silence, now)


@post(
    "/api/v1/silences/{silence_id:int}/expire",
    tags=["alerts"],
    guards=[requires_admin],
    status_code=200,
)
async def expire_silence(state: State, silence_id: IdPath) -> SilenceOut:
    """End the silence now."""
    now = utcnow()
    async with _writing(state) as session:
        return silence_out(await silence_store.expire_silence(session, silence_id, now=now), now)


# ------------------------------------------------------------------ maintenance


def window_out(window: MaintenanceWindow) -> WindowOut:
    return WindowOut(
        id=window.id,
        name=window.name,
        service_id=window.service_id,
        kind=window.kind,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        weekday=window.weekday,
        start_time=window.start_time,
        duration_minutes=window.duration_minutes,
        timezone=window.timezone,
        comment=window.comment,
        created_at=window.created_at,
    )


@get("/api/v1/maintenance", tags=["alerts"])
async def list_windows(state: State) -> list[WindowOut]:
    """Every maintenance window, by name."""
    async with app_sessions(state)() as session:
        return [window_out(w) for w in await silence_store.list_windows(session)]


@post("/api/v1/maintenance", tags=["alerts"], guards=[requires_admin], status_code=201)
async def create_window(state: State, data: JSONBody[WindowBody]) -> WindowOut:
    """A one-off or weekly window without notifications, for one service or all."""
    async with _writing(state) as session:
        values = msgspec.structs.asdict(data)
        if data.start_time is not None:
            values["start_time"] = parse_time(data.start_time)
        fields = silence_store.check_window(**values)
        return window_out(await silence_store.create_window(session, fields, now=utcnow()))


@delete("/api/v1/maintenance/{window_id:int}", tags=["alerts"], guards=[requires_admin])
async def delete_window(state: State, window_id: IdPath) -> None:
    """Delete the window."""
    async with _writing(state) as session:
        await silence_store.delete_window(session, window_id)


alert_api_routes = [
    list_rules,
    get_rule,
    rule_transitions,
    create_rule,
    update_rule,
    delete_rule,
    enable_rule,
    disable_rule,
    duplicate_rule,
    list_silences,
    create_silence,
    expire_silence,
    list_windows,
    create_window,
    delete_window,
]
"""Route handlers of the alerts API."""
