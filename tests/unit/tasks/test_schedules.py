"""Next expected run and overdue time, for period and cron (+ time zone) schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.tasks.schedules import Schedule, ScheduleError, cron_trigger, is_overdue

T0 = datetime(2026, 3, 28, 2, 30, tzinfo=UTC)


def test_period_schedule_expects_the_next_run_one_period_later() -> None:
    schedule = Schedule(kind="period", period_seconds=3600, grace_seconds=300)
    expected, overdue_at = schedule.deadlines(T0)
    assert expected == T0 + timedelta(hours=1)
    assert overdue_at == T0 + timedelta(hours=1, minutes=5)


def test_task_goes_overdue_exactly_when_the_grace_time_has_passed() -> None:
    _, overdue_at = Schedule(period_seconds=60, grace_seconds=30).deadlines(T0)
    assert not is_overdue(overdue_at, T0 + timedelta(seconds=89))
    assert is_overdue(overdue_at, T0 + timedelta(seconds=90))


def test_a_task_that_never_ran_is_never_overdue() -> None:
    assert not is_overdue(None, T0 + timedelta(days=365))


def test_cron_schedule_reads_the_expression_in_its_time_zone_across_dst() -> None:
    # 03:00 in Paris: on 29 March 2026 clocks go forward, so that 03:00 is 01:00 UTC (CEST).
    schedule = Schedule(kind="cron", cron_expression="0 3 * * *", timezone="Europe/Paris")
    assert schedule.next_expected(T0) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    # After the switch, the next one is again 01:00 UTC; in winter it was 02:00 UTC.
    assert schedule.next_expected(datetime(2026, 3, 29, 1, 0, 5, tzinfo=UTC)) == datetime(
        2026, 3, 30, 1, 0, tzinfo=UTC
    )
    winter = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert schedule.next_expected(winter) == datetime(2026, 1, 11, 2, 0, tzinfo=UTC)


def test_cron_run_pinging_at_its_firing_time_expects_the_next_firing() -> None:
    schedule = Schedule(kind="cron", cron_expression="*/15 * * * *", timezone="UTC")
    at_firing = datetime(2026, 5, 1, 10, 15, tzinfo=UTC)
    assert schedule.next_expected(at_firing) == datetime(2026, 5, 1, 10, 30, tzinfo=UTC)


def test_cron_overdue_adds_the_grace_to_the_firing_time() -> None:
    schedule = Schedule(
        kind="cron", cron_expression="0 * * * *", timezone="America/New_York", grace_seconds=600
    )
    expected, overdue_at = schedule.deadlines(datetime(2026, 7, 1, 12, 5, tzinfo=UTC))
    assert expected == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
    assert overdue_at == datetime(2026, 7, 1, 13, 10, tzinfo=UTC)


def test_cron_trigger_refuses_a_wrong_field_count_with_the_reason() -> None:
    with pytest.raises(ScheduleError, match="must have 5 fields"):
        cron_trigger("0 3 * *", "UTC")
