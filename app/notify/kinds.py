"""The channel kinds: each one's config type and ``send``, and config parsing and masking."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from app.notify import alertmanager, email, slack, webhook
from app.notify.fields import MASK, mask_url
from app.notify.messages import AlertNotification

ChannelConfig = (
    webhook.WebhookConfig | slack.SlackConfig | email.EmailConfig | alertmanager.AlertmanagerConfig
)
Send = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Kind:
    """A channel kind: its name shown to people, its config type and its sender."""

    label: str
    config_type: type[ChannelConfig]
    send: Send

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return self.config_type.secret_fields


KINDS: dict[str, Kind] = {
    "webhook": Kind("Webhook", webhook.WebhookConfig, webhook.send),
    "slack": Kind("Slack", slack.SlackConfig, slack.send),
    "email": Kind("E-mail", email.EmailConfig, email.send),
    "alertmanager": Kind("Alertmanager", alertmanager.AlertmanagerConfig, alertmanager.send),
}


class ConfigProblem(ValueError):
    """A channel config that cannot be used; the message names the field."""


_AT_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def parse_config(kind: str, raw: Mapping[str, Any]) -> ChannelConfig:
    """The typed config of ``kind``; raises ConfigProblem with the reason."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ConfigProblem(f"kind: expected one of {', '.join(KINDS)}")
    try:
        return msgspec.convert(dict(raw), spec.config_type)
    except msgspec.ValidationError as exc:
        raise ConfigProblem(explain(str(exc))) from None


def explain(message: str) -> str:
    """``Expected `int` >= 1 - at `$.port``` → ``port: expected `int` >= 1``."""
    match = _AT_PATH.search(message)
    detail = message[: match.start()] if match else message
    detail = detail[0].lower() + detail[1:]
    return f"{match['path']}: {detail}" if match and match["path"] else detail


def merge_secrets(kind: str, raw: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with each secret left empty, missing or masked taken from ``current``.

    So an edit form or API client that never saw the secret keeps it by not sending it.
    """
    merged = dict(raw)
    for field in KINDS[kind].secret_fields if kind in KINDS else ():
        if merged.get(field) in (None, "", MASK) and current.get(field):
            merged[field] = current[field]
    return merged


def masked(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as people and API clients see it: secrets hidden, URLs without tokens."""
    shown = dict(config)
    for field in KINDS[kind].secret_fields:
        if field.endswith("url") and shown.get(field):
            shown[field] = mask_url(str(shown[field]), keep_path=False)
        elif shown.get(field):
            shown[field] = MASK
    for field, value in shown.items():
        if field.endswith("url") and field not in KINDS[kind].secret_fields and value:
            shown[field] = mask_url(str(value))
    return shown


async def send(
    kind: str,
    config: ChannelConfig,
    notification: AlertNotification,
    *,
    key: str,
    timeout_seconds: float,
) -> None:
    """Deliver through the kind's module; raises ``DeliveryError``."""
    await KINDS[kind].send(config, notification, key=key, timeout_seconds=timeout_seconds)
