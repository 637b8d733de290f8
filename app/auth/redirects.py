"""Where to send a user after login: only a path on this site (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_NEXT = "/"


def safe_next(value: str | None, *, default: str = DEFAULT_NEXT) -> str:
    """``value`` when it is a local absolute path, else ``default``.

    Refuses scheme-relative (``//evil``), backslash (``/\\evil``), absolute URLs,
    control characters and the login page itself.
    """
    if not value or len(value) > 2000 or not value.startswith("/"):
        return default
    if value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    if parts.path == "/login" or parts.path.startswith("/logout"):
        return default
    return value
