"""Rule files: durations, PromQL expressions, and reading both formats (pure, no database)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.alerts.export import (
    References,
    RuleFileError,
    dump,
    params_by_id,
    params_by_name,
    prometheus_document,
    promql_expr,
    read_rule_file,
    split_promql_expr,
    vigil_document,
)
from app.alerts.rules import validate_rule

PROMTOOL = Path("/usr/bin/promtool")

SSE = {
    "name": "SSE connections last too long",
    "signal": "promql",
    "params": {
        "query": "histogram_quantile(0.95, sum by (le) "
        "(rate(vigil_sse_connection_duration_seconds_bucket[5m])))"
    },
    "comparison": ">",
    "threshold": 10.0,
    "for_seconds": 300,
    "keep_firing_for_seconds": 60,
    "severity": "warning",
    "labels": {"team": "web"},
    "annotations": {"summary": "p95 is {{ $value }}s on {{ $labels.instance }}"},
    "no_data": "ok",
    "enabled": True,
    "channel_ids": [],
}
LCP = SSE | {
    "name": "LCP p75 > 4 s",
    "signal": "web_vital_p75",
    "params": {"metric": "LCP", "site_id": 1, "page": None, "window_days": 1, "min_samples": 50},
    "threshold": 4000.0,
    "for_seconds": 0,
    "keep_firing_for_seconds": 0,
    "channel_ids": [2, 99],
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("(up) == 0", ("up", "==", 0.0)),
        ("up == 0", ("up", "==", 0.0)),
        (
            'sum(rate(x{code=~"5..", a!="b>c"}[5m])) / sum(rate(x[5m])) > 0.05',
            ('sum(rate(x{code=~"5..", a!="b>c"}[5m])) / sum(rate(x[5m]))', ">", 0.05),
        ),
        ("((a) + (b)) >= 1e3", ("(a) + (b)", ">=", 1000.0)),
        ("(a > 1 and b) != -2.5", ("a > 1 and b", "!=", -2.5)),
    ],
)
def test_a_promql_expression_splits_into_query_comparison_and_threshold(
    expr: str, expected: tuple[str, str, float]
) -> None:
    assert split_promql_expr(expr) == expected
    query, comparison, threshold = expected
    assert split_promql_expr(promql_expr(query, comparison, threshold)) == expected


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("absent(up)", "must end with a comparison"),
        ("up > bool 1", "plain number"),
        ("a > 1 and b > 2", "and/or/unless"),
        ("up > other_metric", "plain number"),
        ("> 1", "no query"),
    ],
)
def test_expressions_vigil_cannot_represent_are_refused(expr: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        split_promql_expr(expr)


def test_the_prometheus_export_holds_only_promql_rules_with_severity_as_a_label() -> None:
    document = prometheus_document([LCP, SSE])

    [group] = document["groups"]
    assert group["name"] == "vigil"
    assert group["rules"] == [
        {
            "alert": "SSE connections last too long",
            "expr": f"({SSE['params']['query']}) > 10",
            "for": "5m",
            "keep_firing_for": "1m",
            "labels": {"severity": "warning", "team": "web"},
            "annotations": {"summary": "p95 is {{ $value }}s on {{ $labels.instance }}"},
        }
    ]


@pytest.mark.skipif(not PROMTOOL.exists(), reason="needs /usr/bin/promtool")
def test_promtool_accepts_the_prometheus_export(tmp_path: Path) -> None:
    ratio = SSE | {
        "name": "5xx ratio > 5 %",
        "params": {
            "query": 'sum(rate(vigil_http_requests_total{status_class="5xx"}[5m])) '
            "/ sum(rate(vigil_http_requests_total[5m]))"
        },
        "threshold": 0.05,
        "for_seconds": 0,
        "keep_firing_for_seconds": 0,
        "annotations": {},
    }
    path = tmp_path / "rules.yml"
    path.write_text(dump(prometheus_document([SSE, ratio, LCP])))

    result = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rules found" in result.stdout


@pytest.mark.skipif(not PROMTOOL.exists(), reason="needs /usr/bin/promtool")
def test_promtool_refuses_what_vigil_would_refuse_too(tmp_path: Path) -> None:
    """The check is real: a broken query fails promtool, so the test above can fail."""
    path = tmp_path / "rules.yml"
    path.write_text(dump(prometheus_document([SSE | {"params": {"query": "rate(x[5m]"}}])))
    result = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0


def test_a_prometheus_file_reads_back_into_the_rule_it_came_from() -> None:
    [draft] = read_rule_file(dump(prometheus_document([SSE])))

    assert draft.channels == []
    assert draft.raw["for"] == "5m"
    assert validate_rule(draft.raw) == validate_rule(SSE)


def test_a_vigil_file_keeps_every_field_and_names_channels_and_sites() -> None:
    refs = References(channels={2: "ops-webhook"}, sites={1: "Shop"})
    text = dump(vigil_document([SSE, LCP], refs=refs))

    lcp, sse = read_rule_file(text)
    assert lcp.channels == ["ops-webhook"]  # id 99 no longer exists: left out
    assert lcp.raw["params"]["site"] == "Shop"
    assert "site_id" not in text
    params = params_by_id(lcp.raw["params"], refs, rule=lcp.name)
    with_channel = {"channel_ids": [2]}
    assert validate_rule(lcp.raw | {"params": params} | with_channel) == validate_rule(
        LCP | with_channel
    )
    assert validate_rule(sse.raw) == validate_rule(SSE)
    assert "vigil_rules: 1" in text


def test_sites_and_services_are_named_in_a_vigil_file_and_must_exist_on_import() -> None:
    refs = References(sites={1: "Shop"}, services={7: "api"})

    assert params_by_name({"site_id": 1, "metric": "LCP"}, refs) == {
        "metric": "LCP",
        "site": "Shop",
    }
    assert params_by_name({"service_id": None}, refs) == {}
    assert params_by_name({"service_id": 8}, refs) == {"service_id": 8}  # gone: kept as is
    assert params_by_id({"service": "api"}, refs, rule="r") == {"service_id": 7}
    with pytest.raises(RuleFileError) as caught:
        params_by_id({"site": "Blog"}, refs, rule="r")
    assert (caught.value.rule, caught.value.field) == ("r", "params.site")
    assert "no site named 'Blog'" in str(caught.value)


def _error(text: str) -> RuleFileError:
    with pytest.raises(RuleFileError) as caught:
        read_rule_file(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "rule", "field", "reason"),
    [
        ("groups: [", None, None, "not valid YAML"),
        ("- a\n- b\n", None, None, "expected a YAML mapping"),
        ("rules: []\n", None, None, "expected `groups`"),
        ("groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n", "x", "record", "recording"),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: absent(up)\n",
            "A",
            "expr",
            "comparison",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up > 1\n    colour: red\n",
            "A",
            "colour",
            "unknown key",
        ),
        ("vigil_rules: 2\nrules: []\n", None, "vigil_rules", "unsupported version"),
        ("vigil_rules: 1\nrules:\n- signal: promql\n", None, "rules[0].name", "needs a `name`"),
        ("vigil_rules: 1\nrules:\n- name: A\n  labels: [x]\n", "A", "labels", "mapping"),
        ("vigil_rules: 1\nrules:\n- name: A\n  channels: [1]\n", "A", "channels", "channel names"),
        ("vigil_rules: 1\nrules:\n- name: A\n- name: a\n", "a", None, "more than once"),
    ],
)
def test_a_bad_file_is_refused_naming_the_rule_and_field(
    text: str, rule: str | None, field: str | None, reason: str
) -> None:
    error = _error(text)
    assert (error.rule, error.field) == (rule, field)
    assert reason in str(error)


def test_severity_is_optional_in_a_prometheus_file() -> None:
    text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
    [draft] = read_rule_file(text)
    raw: dict[str, Any] = draft.raw
    assert "severity" not in raw
    assert raw["labels"] == {}
    assert raw["params"] == {"query": "up"}
