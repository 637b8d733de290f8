"""``/api/v1/channels``: list, read, create, change, test and delete notification channels.

Reading needs any token; changing needs a ``write`` token (checked by the auth middleware)
of an admin. Secrets come back masked; leaving a secret out of a change keeps it. Bad input
gets 400 with a reason, a duplicate name 409; nothing changes then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import delete, get, patch, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import JSONBody

from app.auth.principal import requires_admin
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import IdPath
from app.notify import channels, kinds
from app.notify.models import Channel, ChannelKind
from app.notify.probe import send_test

T = TypeVar("T")
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=channels.MAX_NAME_LENGTH)]


class MatcherIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``{"name": "service", "op": "=~", "value": "shop|cart"}``; ops ``= != =~ !~``."""

    name: str
    op: str
    value: str


class ChannelIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A channel to create; ``config`` has the fields of its ``kind`` (see the docs)."""

    name: Name
    kind: ChannelKind
    config: dict[str, Any]
    enabled: bool = True
    severities: list[str] = msgspec.field(default_factory=list)
    label_matchers: list[MatcherIn] = msgspec.field(default_factory=list)


class ChannelPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields to change; a field left out keeps its value, so does a secret left out."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    kind: ChannelKind | msgspec.UnsetType = msgspec.UNSET
    config: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    severities: list[str] | msgspec.UnsetType = msgspec.UNSET
    label_matchers: list[MatcherIn] | msgspec.UnsetType = msgspec.UNSET


class ChannelOut(msgspec.Struct, kw_only=True):
    """A channel with its secrets masked."""

    id: int
    name: str
    kind: str
    config: dict[str, Any]
    enabled: bool
    severities: list[str]
    label_matchers: list[dict[str, str]]
    created_at: datetime
    updated_at: datetime


class ChannelTestResult(msgspec.Struct, kw_only=True):
    """Whether the test notification was delivered, and if not why."""

    delivered: bool
    error: str | None


def channel_out(channel: Channel) -> ChannelOut:
    return ChannelOut(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        config=kinds.masked(channel.kind, channel.config),
        enabled=channel.enabled,
        severities=list(channel.severities),
        label_matchers=list(channel.label_matchers),
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def _refusal(exc: channels.ChannelError) -> HTTPException:
    if isinstance(exc, channels.ChannelNotFoundError):
        return NotFoundException(detail=str(exc))
    if isinstance(exc, channels.DuplicateChannelError):
        return HTTPException(status_code=409, detail=str(exc))
    return ValidationException(detail=str(exc))


def _matchers(items: list[MatcherIn]) -> list[dict[str, str]]:
    return [msgspec.to_builtins(item) for item in items]


def _unset_to_none(value: T | msgspec.UnsetType) -> T | None:
    return None if isinstance(value, msgspec.UnsetType) else value


@get("/api/v1/channels", tags=["notify"])
async def list_channels(state: State) -> list[ChannelOut]:
    """Every notification channel, by name."""
    return [channel_out(c) for c in await channels.list_channels(app_sessions(state))]


@get("/api/v1/channels/{channel_id:int}", tags=["notify"])
async def get_channel(state: State, channel_id: IdPath) -> ChannelOut:
    """One channel; 404 when there is none with this id."""
    channel = await channels.get_channel(app_sessions(state), channel_id=channel_id)
    if channel is None:
        raise NotFoundException(detail=f"no channel with id {channel_id}")
    return channel_out(channel)


@post("/api/v1/channels", tags=["notify"], guards=[requires_admin], status_code=201)
async def create_channel(state: State, data: JSONBody[ChannelIn]) -> ChannelOut:
    """Create a channel; its config is checked against its kind."""
    try:
        channel = await channels.create_channel(
            app_sessions(state),
            name=data.name,
            kind=data.kind,
            config=data.config,
            enabled=data.enabled,
            severities=data.severities,
            label_matchers=_matchers(data.label_matchers),
        )
    except channels.ChannelError as exc:
        raise _refusal(exc) from None
    return channel_out(channel)


@patch("/api/v1/channels/{channel_id:int}", tags=["notify"], guards=[requires_admin])
async def update_channel(
    state: State, channel_id: IdPath, data: JSONBody[ChannelPatch]
) -> ChannelOut:
    """Change the fields given; secrets left out (or sent masked) are kept."""
    matchers = _unset_to_none(data.label_matchers)
    try:
        channel = await channels.update_channel(
            app_sessions(state),
            channel_id=channel_id,
            name=_unset_to_none(data.name),
            kind=_unset_to_none(data.kind),
            config=_unset_to_none(data.config),
            enabled=_unset_to_none(data.enabled),
            severities=_unset_to_none(data.severities),
            label_matchers=_matchers(matchers) if matchers is not None else None,
        )
    except channels.ChannelError as exc:
        raise _refusal(exc) from None
    return channel_out(channel)


@post(
    "/api/v1/channels/{channel_id:int}/test",
    tags=["notify"],
    guards=[requires_admin],
    status_code=200,
)
async def test_channel(state: State, channel_id: IdPath) -> ChannelTestResult:
    """Send a test notification now (not through the outbox) and say how it went."""
    channel = await channels.get_channel(app_sessions(state), channel_id=channel_id)
    if channel is None:
        raise NotFoundException(detail=f"no channel with id {channel_id}")
    error = await send_test(
        channel,
        public_url=state.settings.server.public_url,
        now=utcnow(),
        timeout_seconds=state.settings.notify.timeout_seconds,
    )
    return ChannelTestResult(delivered=error is None, error=error)


@delete("/api/v1/channels/{channel_id:int}", tags=["notify"], guards=[requires_admin])
async def delete_channel(state: State, channel_id: IdPath) -> None:
    """Delete the channel and its undelivered notifications; 404 when there is none."""
    if not await channels.delete_channel(app_sessions(state), channel_id=channel_id):
        raise NotFoundException(detail=f"no channel with id {channel_id}")


channel_api_routes = [
    list_channels,
    get_channel,
    create_channel,
    update_channel,
    test_channel,
    delete_channel,
]
"""Route handlers of the channels API."""
