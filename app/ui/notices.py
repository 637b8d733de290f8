"""The one-line notice a page shows after an action redirected to it with ``?saved=1``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request


def query_notice(request: Request[Any, Any, Any], notices: Mapping[str, str]) -> str | None:
    """The text of the first of ``notices`` whose key is in the query string, or None."""
    return next((text for key, text in notices.items() if key in request.query_params), None)
