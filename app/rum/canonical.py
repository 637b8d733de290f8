"""Pages and devices as RUM stores them: nothing that identifies a visitor or a record.

>>> canonical_page("https://shop.example.com/orders/123/items/9f86d081884c7d65?x=1#top")
'/orders/:id/items/:id'
>>> device_class(1280), device_class(None)
('desktop', 'unknown')
"""

from __future__ import annotations

import functools
import re
from typing import Final

from app.rum.deltas import MAX_PAGE_LENGTH

TABLET_MIN_WIDTH: Final = 768
DESKTOP_MIN_WIDTH: Final = 1024
ID_SEGMENT: Final = ":id"

_SCHEME_HOST = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//[^/?#]*")
_NUMBER = re.compile(r"^[0-9]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^(?=[a-fA-F]*[0-9])[0-9a-fA-F]{8,}$")
"""A hex string of 8+ characters with at least one digit (so ``deadbeef`` or ``faded``
words survive while ``9f86d081`` or a git/sha hash does not)."""


@functools.lru_cache(maxsize=8192)
def canonical_page(raw: str) -> str:
    """The path of ``raw`` without scheme, host, query or fragment, ids as ``:id``.

    Numeric, UUID and hex-hash segments become ``:id``; empty segments and a trailing
    slash are dropped; the result starts with ``/`` and has at most ``MAX_PAGE_LENGTH``
    characters.
    """
    path = raw.split("#", 1)[0].split("?", 1)[0]
    path = _SCHEME_HOST.sub("", path, count=1)
    segments = []
    for segment in path.split("/"):
        segment = segment.strip()
        if not segment:
            continue
        if _NUMBER.match(segment) or _UUID.match(segment) or _HEX.match(segment):
            segment = ID_SEGMENT
        segments.append(segment)
    page = "/" + "/".join(segments)
    if not page.isprintable():
        page = "".join(char if char.isprintable() else "?" for char in page)
    return page[:MAX_PAGE_LENGTH]


def device_class(viewport_width: int | None) -> str:
    """mobile (< 768 px) / tablet (< 1024 px) / desktop, or unknown without a width."""
    if viewport_width is None:
        return "unknown"
    if viewport_width < TABLET_MIN_WIDTH:
        return "mobile"
    return "tablet" if viewport_width < DESKTOP_MIN_WIDTH else "desktop"
