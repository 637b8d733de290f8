"""Slack channel: an incoming-webhook message (text plus blocks).

The webhook URL is the secret (whoever has it can post): it is masked when shown.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from app.notify import render
from app.notify.delivery import post
from app.notify.fields import check_http_url
from app.notify.messages import AlertNotification

MAX_SERIES_SHOWN = 20


class SlackConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The incoming webhook URL Slack gave (``https://hooks.slack.com/services/...``)."""

    webhook_url: Annotated[str, msgspec.Meta(max_length=2000)]

    secret_fields: ClassVar[tuple[str, ...]] = ("webhook_url",)

    def __post_init__(self) -> None:
        check_http_url("webhook_url", self.webhook_url)


def escape(text: str) -> str:
    """``text`` for a ``mrkdwn`` field: ``&``, ``<`` and ``>`` as entities, so a label or
    annotation cannot add a link (``<https://x|y>``) or a mention (``<!channel>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(notification: AlertNotification) -> dict[str, Any]:
    """The Slack message: a fallback ``text`` and blocks (header, series, link)."""
    lines = [f"• {escape(render.series_line(s))}" for s in notification.series[:MAX_SERIES_SHOWN]]
    hidden = len(notification.series) - MAX_SERIES_SHOWN
    if hidden > 0:
        lines.append(f"… and {hidden} more")
    title = render.title(notification)
    return {
        "text": escape(title),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"<{notification.generator_url}|Open the rule>"}
                ],
            },
        ],
    }


async def send(
    config: SlackConfig, notification: AlertNotification, *, key: str, timeout_seconds: float
) -> None:
    """POST the message to the incoming webhook; raises DeliveryError."""
    del key  # Slack has no idempotency header
    await post(
        config.webhook_url,
        content=msgspec.json.encode(message(notification)),
        headers={"Content-Type": "application/json"},
        timeout_seconds=timeout_seconds,
    )
