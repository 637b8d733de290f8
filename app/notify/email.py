"""E-mail channel: a plain-text message over SMTP (aiosmtplib).

``security``: ``starttls`` (upgrade a plain connection, port 587), ``tls`` (TLS from the
start, port 465) or ``none`` (a relay on a trusted network). The message carries the
idempotency key as ``Message-ID`` and ``X-Vigil-Idempotency-Key``.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate
from typing import Annotated, ClassVar, Literal

import aiosmtplib
import msgspec

from app.notify import render
from app.notify.delivery import DeliveryError
from app.notify.fields import check_email, check_hostname
from app.notify.messages import AlertNotification

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
MAX_RECIPIENTS = 50


class EmailConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """SMTP server, login and addresses."""

    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    port: Port = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Annotated[str, msgspec.Meta(max_length=200)] = ""
    password: Annotated[str, msgspec.Meta(max_length=200)] = ""
    from_address: Annotated[str, msgspec.Meta(max_length=254)]
    to_addresses: Annotated[list[str], msgspec.Meta(min_length=1, max_length=MAX_RECIPIENTS)]

    secret_fields: ClassVar[tuple[str, ...]] = ("password",)

    def __post_init__(self) -> None:
        check_hostname("host", self.host)
        check_email("from_address", self.from_address)
        for index, address in enumerate(self.to_addresses):
            check_email(f"to_addresses[{index}]", address)
        if self.password and not self.username:
            raise ValueError("username: required when a password is set")


def build_message(
    config: EmailConfig, notification: AlertNotification, *, key: str
) -> EmailMessage:
    """The e-mail: subject is the title, body one line per series and the rule's link."""
    message = EmailMessage()
    message["From"] = config.from_address
    message["To"] = ", ".join(config.to_addresses)
    message["Subject"] = render.title(notification)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = config.from_address.rsplit("@", 1)[-1]
    message["Message-ID"] = f"<{key}@{domain}>"
    message["X-Vigil-Idempotency-Key"] = key
    message.set_content(render.text_body(notification))
    return message


async def send(
    config: EmailConfig, notification: AlertNotification, *, key: str, timeout_seconds: float
) -> None:
    """Send the e-mail; raises DeliveryError (permanent on 5xx answers and refusals)."""
    try:
        await aiosmtplib.send(
            build_message(config, notification, key=key),
            hostname=config.host,
            port=config.port,
            username=config.username or None,
            password=config.password or None,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            timeout=timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused:
        raise DeliveryError("the SMTP server refused every recipient", permanent=True) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login failed ({exc.code})", permanent=True) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"the SMTP server answered {exc.code}: {exc.message[:200]}",
            permanent=exc.code >= 500,
        ) from None
    except aiosmtplib.SMTPTimeoutError:
        raise DeliveryError(
            f"no answer from the SMTP server within {timeout_seconds:g} s"
        ) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"cannot talk to the SMTP server ({type(exc).__name__})") from None
