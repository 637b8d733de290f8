"""What every channel shares: its delivery error and an HTTP POST that explains failures.

Error messages never carry the target URL or a secret: they are stored in the outbox,
shown in the UI and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar

import httpx

USER_AGENT = "Vigil-Notify/1"
RETRYABLE_STATUSES = frozenset({408, 425, 429})

_sending: ContextVar[bool] = ContextVar("notify_sending", default=False)


class _HideNotificationRequests(logging.Filter):
    """httpx logs every request's full URL at INFO; a channel's URL may be its secret
    (Slack's incoming webhook, a token in a query), so those lines are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _sending.get()


logging.getLogger("httpx").addFilter(_HideNotificationRequests())


class DeliveryError(Exception):
    """A notification was not delivered; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


async def post(
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout_seconds: float,
) -> httpx.Response:
    """POST ``content``; a 2xx answer is returned, anything else raises DeliveryError.

    5xx, 408, 425 and 429 answers and network errors may pass: retry. Other 4xx answers
    mean the receiver refuses this request: permanent.
    """
    token = _sending.set(True)
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as client:
            response = await client.post(
                url, content=content, headers={"User-Agent": USER_AGENT, **headers}
            )
    except httpx.TimeoutException:
        raise DeliveryError(f"no answer within {timeout_seconds:g} s") from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"cannot reach the receiver ({type(exc).__name__})") from None
    finally:
        _sending.reset(token)
    if response.is_success:
        return response
    permanent = 400 <= response.status_code < 500 and (
        response.status_code not in RETRYABLE_STATUSES
    )
    detail = response.text[:200].strip()
    raise DeliveryError(
        f"receiver answered HTTP {response.status_code}" + (f": {detail}" if detail else ""),
        permanent=permanent,
    )
