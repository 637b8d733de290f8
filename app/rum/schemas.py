"""The beacon's wire types, decoded strictly with msgspec (see ``docs/rum.md``).

A beacon is one page view's queued Web Vitals reports::

    {"page": "/products/42", "vw": 1280, "events": [
      {"name": "LCP", "value": 2312.5, "delta": 2312.5, "id": "v5-1700000000000-81234",
       "rating": "good", "navigationType": "navigate", "timestamp": 1700000001234}]}

Unknown fields, missing required fields, wrong types and out-of-range values are errors
whose message names the field (``... - at `$.events[0].value```). ``rating`` is accepted
but ignored: the server rates ``value`` itself.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

from app.rum.histogram import Metric

MAX_MS: Final = 3_600_000.0
"""Largest timing value accepted (one hour, in milliseconds)."""
MAX_CLS: Final = 100.0
"""Largest CLS value accepted (real pages stay below ~10)."""
MAX_EVENTS: Final = 50
MAX_PAGE_CHARS: Final = 2048
MAX_VIEWPORT: Final = 100_000
MAX_TIMESTAMP_MS: Final = 2.0**53

NavigationType = Literal[
    "navigate", "reload", "back-forward", "back-forward-cache", "prerender", "restore"
]


class BeaconEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One web-vitals report, with the approved attributes only."""

    name: Metric
    value: Annotated[float, msgspec.Meta(ge=0, le=MAX_MS)]
    delta: Annotated[float, msgspec.Meta(ge=-MAX_MS, le=MAX_MS)] = 0.0
    id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    rating: Literal["good", "needs-improvement", "poor"] | None = None
    navigation_type: NavigationType | None = msgspec.field(default=None, name="navigationType")
    timestamp: Annotated[float, msgspec.Meta(ge=0, le=MAX_TIMESTAMP_MS)] | None = None


class Beacon(msgspec.Struct, forbid_unknown_fields=True):
    """One page view's reports: where (``page``, viewport width ``vw``) and what."""

    page: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PAGE_CHARS)]
    events: Annotated[list[BeaconEvent], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]
    vw: Annotated[int, msgspec.Meta(ge=0, le=MAX_VIEWPORT)] | None = None


class BeaconError(ValueError):
    """A beacon that does not follow the wire format; the message names the field."""


_decoder: Final = msgspec.json.Decoder(Beacon)


def decode_beacon(body: bytes) -> Beacon:
    """The beacon in ``body``, or :class:`BeaconError` naming what is wrong."""
    try:
        beacon = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise BeaconError(str(exc)) from None
    except UnicodeDecodeError as exc:  # msgspec's error for bad UTF-8 inside a string
        raise BeaconError(f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    for index, event in enumerate(beacon.events):
        if event.name == "CLS" and event.value > MAX_CLS:
            raise BeaconError(f"Expected `float` <= {MAX_CLS:g} - at `$.events[{index}].value`")
    return beacon
