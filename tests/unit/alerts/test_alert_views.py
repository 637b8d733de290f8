"""View models of the alert pages: the signal's parameter fields and the preview sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.alerts.evaluator import Preview, PreviewSeries
from app.alerts.rules import RuleError
from app.alerts.views import param_fields, preview_view, when_text

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def test_parameter_fields_follow_the_signals_struct() -> None:
    fields = {
        f.name: f
        for f in param_fields("web_vital_p75", {"site_id": "1"}, sites={1: "Shop"}, services={})
    }

    assert list(fields) == ["metric", "site_id", "page", "window_days", "min_samples"]
    assert fields["metric"].kind == "select"
    assert [o.value for o in fields["metric"].options] == ["LCP", "INP", "CLS", "FCP", "TTFB"]
    assert fields["metric"].required
    assert [(o.label, o.selected) for o in fields["site_id"].options] == [
        ("All sites", False),
        ("Shop", True),
    ]
    assert (fields["min_samples"].kind, fields["min_samples"].value) == ("number", "50")
    assert fields["page"].input_name == "param.page"
    assert param_fields("promql", {}, sites={}, services={})[0].kind == "textarea"
    assert param_fields("nonsense", {}, sites={}, services={}) == []


def test_a_deleted_site_stays_selected_instead_of_silently_becoming_all_sites() -> None:
    [_, site, *_] = param_fields("web_vital_p75", {"site_id": "9"}, sites={1: "Shop"}, services={})

    assert [(o.value, o.selected) for o in site.options] == [
        ("", False),
        ("1", False),
        ("9", True),
    ]
    assert site.options[-1].label == "#9 (no longer exists)"


def test_a_required_service_has_no_all_services_choice() -> None:
    [service, *_] = param_fields("scraped_metric", {}, sites={}, services={3: "api"})

    assert service.required
    assert [o.label for o in service.options] == ["api"]


def _series(value: float, fire: bool, **labels: str) -> PreviewSeries:
    return PreviewSeries(
        labels={"alertname": "r", "severity": "warning", **labels}, value=value, would_fire=fire
    )


def test_the_preview_sentence() -> None:
    two = Preview(
        series=[_series(4200, True, site="Shop"), _series(4100, True, site="Blog")],
    )
    quiet = Preview(series=[_series(100, False, site="Shop")])

    firing = preview_view(two, None)
    assert (firing.status, firing.headline) == ("firing", "Would be firing now for 2 series:")
    assert firing.series == ['site="Shop" (value 4200)', 'site="Blog" (value 4100)']
    assert preview_view(quiet, None).headline == (
        "Not firing: none of 1 series meets the condition now."
    )
    assert preview_view(Preview(error="boom"), None).headline == "Error: boom"
    assert preview_view(None, RuleError("threshold", "expected a number")).headline == (
        "Cannot preview yet: threshold: expected a number"
    )
    empty = Preview(no_data=True)
    assert preview_view(empty, None).status == "not-firing"
    assert preview_view(empty, None, no_data_policy="alerting").status == "firing"


def test_times_read_as_relative() -> None:
    assert when_text(None, NOW) == "never"
    assert when_text(NOW - timedelta(seconds=5), NOW) == "5\u00a0s ago"
    assert when_text(NOW - timedelta(minutes=90), NOW) == "1\u00a0h ago"
    assert when_text(NOW + timedelta(days=2), NOW) == "in 2\u00a0d"
