"""Routing: severities and label matchers decide which series a channel gets."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from app.notify.messages import AlertNotification, AlertSeries
from app.notify.routing import LabelMatcher, route

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _notification(*services: str, severity: str = "critical") -> AlertNotification:
    return AlertNotification(
        idempotency_key="k",
        rule_id=1,
        rule_name="ServiceDown",
        severity=severity,
        status="firing",
        series=tuple(
            AlertSeries(labels={"service": s}, annotations={}, value=1.0, starts_at=T0)
            for s in services
        ),
        generator_url="http://vigil.test/alerts/rules/1",
        created_at=T0,
    )


def _m(name: str, op: str, value: str) -> LabelMatcher:
    return msgspec.convert({"name": name, "op": op, "value": value}, LabelMatcher)


def test_no_routing_takes_everything() -> None:
    sent = _notification("shop")
    assert route(sent, severities=[], matchers=[]) is sent


def test_severity_not_listed_is_dropped() -> None:
    assert (
        route(_notification("shop", severity="info"), severities=["critical"], matchers=[]) is None
    )
    assert route(_notification("shop"), severities=["critical", "warning"], matchers=[]) is not None


@pytest.mark.parametrize(
    ("matcher", "kept"),
    [
        (("service", "=", "shop"), ["shop"]),
        (("service", "!=", "shop"), ["cart", "blog"]),
        (("service", "=~", "shop|cart"), ["shop", "cart"]),
        (("service", "=~", "sho"), []),  # regexes match the whole value
        (("service", "!~", "c.*"), ["shop", "blog"]),
        (("alertname", "=", "ServiceDown"), ["shop", "cart", "blog"]),
        (("severity", "=", "warning"), []),
        (("team", "=", ""), ["shop", "cart", "blog"]),  # a missing label is empty
    ],
)
def test_matchers_keep_only_matching_series(matcher: tuple[str, str, str], kept: list[str]) -> None:
    routed = route(_notification("shop", "cart", "blog"), severities=[], matchers=[_m(*matcher)])
    if not kept:
        assert routed is None
    else:
        assert routed is not None
        assert [s.labels["service"] for s in routed.series] == kept


def test_every_matcher_must_match() -> None:
    matchers = [_m("service", "=~", "shop|cart"), _m("service", "!=", "cart")]
    routed = route(_notification("shop", "cart"), severities=[], matchers=matchers)
    assert routed is not None
    assert [s.labels["service"] for s in routed.series] == ["shop"]


def test_bad_regex_and_op_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="invalid regular expression"):
        _m("service", "=~", "(shop")
    with pytest.raises(msgspec.ValidationError):
        _m("service", "~=", "shop")
    with pytest.raises(msgspec.ValidationError):
        _m("1service", "=", "shop")
