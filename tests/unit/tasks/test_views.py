"""What the task pages show: the schedule form's checks, durations, sparklines."""

from __future__ import annotations

import pytest

from app.tasks.views import ScheduleForm, duration_text, span_text, sparkline


def test_schedule_form_accepts_a_cron_schedule_and_normalises_spaces() -> None:
    form = ScheduleForm(
        kind="cron",
        period_seconds="86400",
        grace_seconds="60",
        cron_expression="  0  3 * * 1-5 ",
        timezone="Europe/Berlin",
        max_run_seconds="600",
    )
    parsed = form.parsed()
    assert parsed is not None
    schedule, max_run = parsed
    assert (schedule.kind, schedule.cron_expression, schedule.timezone) == (
        "cron",
        "0 3 * * 1-5",
        "Europe/Berlin",
    )
    assert max_run == 600
    assert form.errors == {}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "weekly"}, "kind", "period or a cron"),
        ({"period_seconds": "59"}, "period_seconds", "from 60 to"),
        ({"period_seconds": "1h"}, "period_seconds", "whole number"),
        ({"grace_seconds": "-1"}, "grace_seconds", "from 0 to"),
        ({"max_run_seconds": "0"}, "max_run_seconds", "from 1 to"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        ({"kind": "cron", "cron_expression": ""}, "cron_expression", "needs an expression"),
        ({"kind": "cron", "cron_expression": "0 3 * *"}, "cron_expression", "5 fields"),
        ({"kind": "cron", "cron_expression": "61 3 * * *"}, "cron_expression", "is not valid"),
    ],
)
def test_schedule_form_puts_each_problem_next_to_its_field(
    fields: dict[str, str], field: str, message: str
) -> None:
    form = ScheduleForm(**fields)  # type: ignore[arg-type]
    assert form.parsed() is None
    assert message in form.errors[field]


def test_schedule_form_reports_every_bad_field_at_once() -> None:
    form = ScheduleForm(period_seconds="x", grace_seconds="-1", max_run_seconds="")
    assert form.parsed() is None
    assert set(form.errors) == {"period_seconds", "grace_seconds", "max_run_seconds"}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.25, "250 ms"), (12.34, "12.3 s"), (245, "4 min 05 s"), (7380, "2 h 03 min")],
)
def test_duration_text(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


def test_span_text_uses_the_largest_exact_unit() -> None:
    assert [span_text(s) for s in (90, 300, 3600, 172_800)] == ["90 s", "5 min", "1 h", "2 d"]


def test_sparkline_needs_two_durations_and_marks_failures() -> None:
    assert sparkline([("success", 1.0), ("error", None)]) is None
    line = sparkline([("success", 1.0), ("error", 4.0), ("success", 2.0)])
    assert line is not None
    assert line.points.count(",") == 3
    assert len(line.failures) == 1
    assert line.label == ("Duration of the last 3 runs: 1.0 s to 4.0 s, latest 2.0 s; 1 failed")
