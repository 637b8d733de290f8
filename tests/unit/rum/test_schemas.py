"""Strict beacon decoding: every error names the field."""

from __future__ import annotations

import json

import pytest

from app.rum.schemas import MAX_EVENTS, BeaconError, decode_beacon

EVENT = {
    "name": "LCP",
    "value": 2312.5,
    "delta": 2312.5,
    "id": "v5-1700000000000-8123456789012",
    "rating": "good",
    "navigationType": "navigate",
    "timestamp": 1700000001234,
}


def body(**top: object) -> bytes:
    beacon: dict[str, object] = {"page": "/products/42", "vw": 1280, "events": [EVENT]}
    beacon.update(top)
    return json.dumps({k: v for k, v in beacon.items() if v is not ...}).encode()


def event(**fields: object) -> dict[str, object]:
    return {k: v for k, v in (EVENT | fields).items() if v is not ...}


def test_documented_example_decodes() -> None:
    beacon = decode_beacon(body())
    assert beacon.page == "/products/42"
    assert beacon.vw == 1280
    [lcp] = beacon.events
    assert (lcp.name, lcp.value, lcp.navigation_type) == ("LCP", 2312.5, "navigate")


def test_only_name_and_value_are_required_in_an_event() -> None:
    beacon = decode_beacon(b'{"page":"/","events":[{"name":"CLS","value":0.05}]}')
    assert beacon.vw is None
    assert beacon.events[0].value == 0.05


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (body(extra=1), "unknown field `extra`"),
        (body(events=[event(attribution={})]), "unknown field `attribution` - at `$.events[0]`"),
        (body(events=[event(name=...)]), "missing required field `name` - at `$.events[0]`"),
        (body(page=...), "missing required field `page`"),
        (body(events=[]), "at `$.events`"),
        (body(events=[EVENT] * (MAX_EVENTS + 1)), "at `$.events`"),
        (body(events=[event(name="FID")]), "at `$.events[0].name`"),
        (body(events=[event(value="12")]), "Expected `float`, got `str` - at `$.events[0].value`"),
        (body(events=[event(value=-1)]), "at `$.events[0].value`"),
        (body(events=[event(value=1e300)]), "at `$.events[0].value`"),
        (body(events=[event(name="CLS", value=250)]), "at `$.events[0].value`"),
        (body(events=[EVENT, event(rating="great")]), "at `$.events[1].rating`"),
        (body(events=[event(navigationType="teleport")]), "at `$.events[0].navigationType`"),
        (body(events=[event(id="x" * 129)]), "at `$.events[0].id`"),
        (body(vw="1280"), "Expected `int | null`, got `str` - at `$.vw`"),
        (body(vw=-5), "at `$.vw`"),
        (body(page=""), "at `$.page`"),
        (body(page="/" * 3000), "at `$.page`"),
        (b'{"page":"/","events":[{"name":"LCP","value":NaN}]}', "malformed"),
        (b'{"page":"/","events":[{"name":"LCP","value":1e999}]}', "at `$.events[0].value`"),
        (b"[]", "Expected `object`, got `array`"),
        (b"", "Input data was truncated"),
        (b"\xff\xfe", "malformed"),
    ],
)
def test_bad_beacons_are_rejected_naming_the_problem(raw: bytes, message: str) -> None:
    with pytest.raises(BeaconError) as error:
        decode_beacon(raw)
    assert message in str(error.value)
