"""Matchers (= != =~ !~, fully anchored regexes) and silences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.silences import (
    ActiveSilence,
    MatcherError,
    make_matcher,
    matchers_from_json,
    parse_matcher,
    silenced,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('severity="critical"', {"severity": "critical"}, True),
        ("severity=critical", {"severity": "warning"}, False),
        ('service!="api"', {"service": "db"}, True),
        ('service!="api"', {}, True),
        ('severity=~"crit.*"', {"severity": "critical"}, True),
        ('severity=~"crit"', {"severity": "critical"}, False),  # anchored: whole value
        ('severity=~"rit"', {"severity": "critical"}, False),
        ('service!~"a.*"', {"service": "api"}, False),
        ('service!~"a.*"', {"service": "db"}, True),
        ('team=""', {}, True),  # absent label = empty string
        ('team=~".+"', {}, False),
    ],
)
def test_matchers_follow_prometheus_semantics(
    text: str, labels: dict[str, str], expected: bool
) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["", "severity", "1abc=x", 'severity=~"("', 'a=~"[z-a]"', "a<>b"])
def test_bad_matchers_are_rejected(text: str) -> None:
    with pytest.raises(MatcherError):
        parse_matcher(text)


def test_matcher_round_trips_through_its_text() -> None:
    matcher = make_matcher("path", "=~", '/a"b.*')
    assert parse_matcher(str(matcher)) == matcher


def test_matchers_from_json_name_the_bad_one() -> None:
    with pytest.raises(MatcherError, match="matcher 2: invalid regular expression"):
        matchers_from_json(
            [{"name": "a", "op": "=", "value": "x"}, {"name": "b", "op": "=~", "value": "("}]
        )
    with pytest.raises(MatcherError, match="matcher 1: unknown operator"):
        matchers_from_json([{"name": "a", "op": "~", "value": "x"}])


def test_silence_applies_only_between_start_and_end_to_matching_labels() -> None:
    silence = ActiveSilence(
        (parse_matcher('service="api"'), parse_matcher('severity=~"warn.*"')),
        NOW,
        NOW + timedelta(hours=1),
    )
    labels = {"service": "api", "severity": "warning"}
    assert silenced(labels, [silence], NOW)
    assert not silenced(labels, [silence], NOW - timedelta(seconds=1))
    assert not silenced(labels, [silence], NOW + timedelta(hours=1))
    assert not silenced({"service": "api", "severity": "critical"}, [silence], NOW)
