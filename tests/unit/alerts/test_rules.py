"""validate_rule: the field named in every error, normalised values when valid."""

from __future__ import annotations

from typing import Any

import pytest

from app.alerts.rules import RuleError, format_duration, parse_duration, validate_rule

BASE: dict[str, Any] = {
    "name": "API latency",
    "signal": "service_latency_p95",
    "params": {"service_id": "3", "window_seconds": "600"},
    "comparison": ">",
    "threshold": "250",
}


def test_valid_rule_is_normalised() -> None:
    rule = validate_rule(
        BASE
        | {
            "name": "  API   latency ",
            "for": "5m",
            "keep_firing_for": "1h30m",
            "enabled": "on",
            "channel_ids": ["2", 1, 2],
            "labels": {"team": "web"},
            "annotations": {"summary": "{{ $labels.service }} at {{ $value }} ms"},
        }
    )
    assert rule.name == "API latency"
    assert rule.threshold == 250.0
    assert (rule.for_seconds, rule.keep_firing_for_seconds) == (300, 5400)
    assert rule.params == {"service_id": 3, "window_seconds": 600, "min_samples": 3}
    assert rule.channel_ids == [2, 1]
    assert rule.enabled is True
    assert (rule.severity, rule.no_data) == ("warning", "ok")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"threshold": "abc"}, "threshold", "expected a number"),
        ({"threshold": "nan"}, "threshold", "finite"),
        ({"threshold": None}, "threshold", "required"),
        ({"name": " "}, "name", "required"),
        ({"signal": "cpu"}, "signal", "expected one of"),
        ({"comparison": "=>"}, "comparison", "expected one of"),
        ({"severity": "page"}, "severity", "expected one of"),
        ({"no_data": "ignore"}, "no_data", "expected one of"),
        ({"for": "5 minutes"}, "for", "duration"),
        ({"for_seconds": -1}, "for_seconds", "between"),
        ({"keep_firing_for": "400d"}, "keep_firing_for", "between"),
        ({"enabled": "maybe"}, "enabled", "true or false"),
        ({"channel_ids": "1"}, "channel_ids", "list"),
        ({"channel_ids": [0]}, "channel_ids", "channel ids"),
        ({"labels": {"alertname": "x"}}, "labels", "set from the rule"),
        ({"labels": {"bad-name": "x"}}, "labels", "invalid name"),
        ({"annotations": {"summary": "{{ .Value }}"}}, "annotations", "unknown expression"),
        ({"owner": "me"}, "owner", "unknown field"),
        ({"params": {"window_seconds": "10"}}, "params.window_seconds", ">= 60"),
        ({"params": {"service_id": "x"}}, "params.service_id", "int"),
        ({"params": {"colour": "red"}}, "params.colour", "unknown parameter"),
        ({"params": "x"}, "params", "mapping"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(RuleError) as error:
        validate_rule(BASE | change)
    assert error.value.field == field
    assert message in error.value.message


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "required"),
        ("   ", "empty query"),
        ("sum(rate(x[5m])", "unclosed '('"),
        ("sum(rate(x[5m])))", "unexpected ')'"),
        ('up{job="a}', "unterminated"),
        ("rate(x[5m)", "unexpected ')'"),
    ],
)
def test_invalid_promql_is_rejected(query: str, message: str) -> None:
    with pytest.raises(RuleError) as error:
        validate_rule(BASE | {"signal": "promql", "params": {"query": query}})
    assert error.value.field == "params.query"
    assert message in error.value.message


def test_promql_brackets_inside_strings_and_comments_do_not_count() -> None:
    query = 'sum(up{job=~"(a|b"}) # unbalanced ( in a comment'
    assert validate_rule(BASE | {"signal": "promql", "params": {"query": query}})


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ('x{a=~"("}', "invalid regular expression"),
        ("x{a=b}", "cannot read"),
        ('{a="b"}', "expected metric_name"),
    ],
)
def test_invalid_scraped_metric_selector_is_rejected(selector: str, message: str) -> None:
    params = {"service_id": 1, "selector": selector}
    with pytest.raises(RuleError) as error:
        validate_rule(BASE | {"signal": "scraped_metric", "params": params})
    assert error.value.field == "params.selector"
    assert message in error.value.message


def test_web_vital_page_needs_a_site() -> None:
    params = {"metric": "LCP", "page": "/cart"}
    with pytest.raises(RuleError) as error:
        validate_rule(BASE | {"signal": "web_vital_p75", "params": params})
    assert error.value.field == "params.page"


@pytest.mark.parametrize(("text", "seconds"), [("0", 0), ("90s", 90), ("1h30m", 5400), (300, 300)])
def test_durations_round_trip(text: str | int, seconds: int) -> None:
    assert parse_duration(text, "for") == seconds
    assert parse_duration(format_duration(seconds), "for") == seconds
