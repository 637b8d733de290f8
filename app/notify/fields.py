"""Checks shared by the channel configs: URLs, e-mail addresses, secrets.

Each raises ``ValueError`` with a message that names the field and never echoes a value
that may hold a secret.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "********"
"""What a secret looks like when a channel is shown."""
_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def check_http_url(field: str, value: str) -> None:
    """``value`` must be an ``http://`` or ``https://`` URL with a host."""
    try:
        parts = urlsplit(value)
        valid_port = parts.port is None or parts.port > 0  # .port raises past 65535
    except ValueError:
        valid_port = False
    if (
        not valid_port
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise ValueError(f"{field}: expected an http:// or https:// URL with a host")


def check_email(field: str, value: str) -> None:
    """``value`` must look like ``name@domain``."""
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{field}: expected an e-mail address like alerts@example.com")


def check_hostname(field: str, value: str) -> None:
    """``value`` must be a host name or an IP address, without scheme or port."""
    if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", value) or "://" in value:
        raise ValueError(f"{field}: expected a host name like smtp.example.com")


def mask_url(value: str, *, keep_path: bool = True) -> str:
    """The URL with its password and query (and, unless ``keep_path``, its path) hidden."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username:
        host = f"{parts.username}:{MASK}@{host}" if parts.password else f"{parts.username}@{host}"
    path = parts.path if keep_path else ("/" + MASK if parts.path.strip("/") else "")
    query = "?" + MASK if parts.query else ""
    return f"{parts.scheme}://{host}{path}{query}"
