"""Webhook channel: the notification as JSON, signed with HMAC-SHA256.

Headers: ``X-Vigil-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>``
and ``X-Vigil-Idempotency-Key``. Delivery is at least once: a receiver drops a key it has
already seen.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, ClassVar

import msgspec

from app.notify.delivery import post
from app.notify.fields import check_http_url
from app.notify.messages import AlertNotification

SIGNATURE_HEADER = "X-Vigil-Signature"
IDEMPOTENCY_HEADER = "X-Vigil-Idempotency-Key"
MIN_SECRET_LENGTH = 16


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where to POST and the shared secret the receiver checks the signature with."""

    url: Annotated[str, msgspec.Meta(max_length=2000)]
    secret: Annotated[str, msgspec.Meta(max_length=200)]

    secret_fields: ClassVar[tuple[str, ...]] = ("secret",)

    def __post_init__(self) -> None:
        check_http_url("url", self.url)
        if len(self.secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"secret: expected at least {MIN_SECRET_LENGTH} characters")


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=<hex digest>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body(notification: AlertNotification) -> bytes:
    """The JSON body: the notification's fields (``app.notify.messages``)."""
    return msgspec.json.encode(notification)


async def send(
    config: WebhookConfig, notification: AlertNotification, *, key: str, timeout_seconds: float
) -> None:
    """POST the signed notification; raises DeliveryError."""
    content = body(notification)
    await post(
        config.url,
        content=content,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(content, config.secret),
            IDEMPOTENCY_HEADER: key,
        },
        timeout_seconds=timeout_seconds,
    )
