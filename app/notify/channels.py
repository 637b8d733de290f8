"""Channels: create, change, delete and read them, with every field validated first.

A channel that fails validation raises :class:`ChannelError` whose message starts with
the field (``config.url: ...``, ``severities: ...``); nothing is saved then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.rows import delete_by_id
from app.notify import kinds
from app.notify.models import Channel
from app.notify.routing import MAX_MATCHERS, LabelMatcher

MAX_NAME_LENGTH = 100
SEVERITIES = ("critical", "warning", "info")
"""The alert rules' severities (``app.alerts.models.SEVERITIES``)."""


class ChannelError(ValueError):
    """A channel that cannot be saved; the message says which field and why."""


class DuplicateChannelError(ChannelError):
    """Another channel has this name."""


class ChannelNotFoundError(ChannelError):
    """No channel has this id."""


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ChannelError("name: give the channel a name, e.g. 'on-call e-mail'")
    if len(name) > MAX_NAME_LENGTH:
        raise ChannelError(f"name: at most {MAX_NAME_LENGTH} characters")
    return name


def check_severities(severities: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(s.strip().lower() for s in severities if s.strip()))
    for severity in cleaned:
        if severity not in SEVERITIES:
            raise ChannelError(f"severities: {severity!r} is not one of {', '.join(SEVERITIES)}")
    return cleaned


def check_matchers(matchers: Sequence[Mapping[str, Any] | LabelMatcher]) -> list[dict[str, str]]:
    if len(matchers) > MAX_MATCHERS:
        raise ChannelError(f"label_matchers: at most {MAX_MATCHERS}")
    checked = []
    for index, item in enumerate(matchers):
        try:
            matcher = (
                item
                if isinstance(item, LabelMatcher)
                else msgspec.convert(dict(item), LabelMatcher)
            )
        except msgspec.ValidationError as exc:
            message = kinds.explain(str(exc))
            if message.startswith("op:"):
                message = "op: expected one of =, !=, =~, !~"
            elif message.startswith("name:"):
                message = "name: expected a label name (letters, digits and _, no digit first)"
            joined = "." if re.match(r"^[a-z_]+:", message) else ": "
            raise ChannelError(f"label_matchers[{index}]{joined}{message}") from None
        checked.append(msgspec.to_builtins(matcher))
    return checked


def check_config(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The config as stored: validated, defaults filled in."""
    try:
        config = kinds.parse_config(kind, raw)
    except kinds.ConfigProblem as exc:
        message = str(exc)
        if message.startswith("kind:"):
            raise ChannelError(message) from None
        names_field = re.match(r"^[a-z_]+(\[\d+\])?:", message) is not None
        raise ChannelError(f"config.{message}" if names_field else f"config: {message}") from None
    stored: dict[str, Any] = msgspec.to_builtins(config)
    return stored


async def list_channels(sessions: async_sessionmaker[AsyncSession]) -> list[Channel]:
    async with sessions() as session:
        return list(await session.scalars(select(Channel).order_by(Channel.name)))


async def get_channel(
    sessions: async_sessionmaker[AsyncSession], *, channel_id: int
) -> Channel | None:
    async with sessions() as session:
        return await session.get(Channel, channel_id)


async def create_channel(
    sessions: async_sessionmaker[AsyncSession],
    *,
    name: str,
    kind: str,
    config: Mapping[str, Any],
    enabled: bool = True,
    severities: Sequence[str] = (),
    label_matchers: Sequence[Mapping[str, Any] | LabelMatcher] = (),
) -> Channel:
    """Validate everything, then save; raises ChannelError (nothing saved)."""
    channel = Channel(
        name=check_name(name),
        kind=kind,
        config=check_config(kind, config),
        enabled=enabled,
        severities=check_severities(severities),
        label_matchers=check_matchers(label_matchers),
    )
    try:
        async with sessions.begin() as session:
            await _refuse_duplicate(session, channel.name, exclude_id=None)
            session.add(channel)
    except IntegrityError:
        raise DuplicateChannelError(f"name: a channel named {channel.name!r} exists") from None
    return channel


async def update_channel(
    sessions: async_sessionmaker[AsyncSession],
    *,
    channel_id: int,
    name: str | None = None,
    kind: str | None = None,
    config: Mapping[str, Any] | None = None,
    enabled: bool | None = None,
    severities: Sequence[str] | None = None,
    label_matchers: Sequence[Mapping[str, Any] | LabelMatcher] | None = None,
) -> Channel:
    """Change the fields given. Secrets left out of ``config`` (or masked) are kept."""
    try:
        async with sessions.begin() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None:
                raise ChannelNotFoundError(f"no channel with id {channel_id}")
            new_kind = kind or channel.kind
            if config is not None or new_kind != channel.kind:
                raw = dict(config or {})
                if new_kind == channel.kind:
                    raw = kinds.merge_secrets(new_kind, raw, channel.config)
                channel.config = check_config(new_kind, raw)
                channel.kind = new_kind
            if name is not None:
                channel.name = check_name(name)
                await _refuse_duplicate(session, channel.name, exclude_id=channel.id)
            if enabled is not None:
                channel.enabled = enabled
            if severities is not None:
                channel.severities = check_severities(severities)
            if label_matchers is not None:
                channel.label_matchers = check_matchers(label_matchers)
    except IntegrityError:
        raise DuplicateChannelError(f"name: a channel named {name!r} exists") from None
    return channel


async def delete_channel(sessions: async_sessionmaker[AsyncSession], *, channel_id: int) -> bool:
    """Delete the channel and its outbox rows; False when there is none."""
    return await delete_by_id(sessions, Channel, channel_id)


async def _refuse_duplicate(session: AsyncSession, name: str, *, exclude_id: int | None) -> None:
    query = select(Channel.id).where(Channel.name == name)
    if exclude_id is not None:
        query = query.where(Channel.id != exclude_id)
    if (await session.scalar(query)) is not None:
        raise DuplicateChannelError(f"name: a channel named {name!r} exists")
