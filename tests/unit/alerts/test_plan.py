"""Planning one rule's evaluation: rows, transitions and notifications, with a fake clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.alerts.plan import RulePlan, StoredSeries, plan_rule
from app.alerts.signals import Sample
from app.alerts.states import fingerprint

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REPEAT = timedelta(hours=4)


@dataclass
class Rule:
    id: int = 7
    name: str = "Latency high"
    severity: str = "warning"
    signal: str = "service_latency_p95"
    comparison: str = ">"
    threshold: float = 100.0
    for_seconds: int = 0
    keep_firing_for_seconds: int = 0
    no_data: str = "ok"
    labels: dict[str, str] = field(default_factory=lambda: {"team": "web"})
    annotations: dict[str, str] = field(
        default_factory=lambda: {"summary": "{{ $labels.service }} p95 {{ $value }} ms"}
    )


class Clock:
    """Runs a rule tick after tick, carrying the stored series like the database would."""

    def __init__(self, rule: Rule, *, silenced: set[str] | None = None) -> None:
        self.rule = rule
        self.now = T0
        self.stored: dict[str, StoredSeries] = {}
        self.silenced = silenced if silenced is not None else set()

    def suppressed(self, labels: Mapping[str, str]) -> bool:
        return labels.get("service", "") in self.silenced

    def tick(self, samples: list[Sample] | None, *, seconds: int = 30) -> RulePlan:
        plan = plan_rule(
            self.rule,
            self.stored,
            samples,
            now=self.now,
            suppressed=self.suppressed,
            repeat_interval=REPEAT,
            public_url="http://vigil.test/",
        )
        for write in [*plan.refresh, *plan.writes]:
            if write.state.state == "inactive":
                self.stored.pop(write.fingerprint, None)
            else:
                self.stored[write.fingerprint] = StoredSeries(
                    write.fingerprint, write.labels, write.state, write.last_notified_at
                )
        self.now += timedelta(seconds=seconds)
        return plan


def api(value: float) -> Sample:
    return Sample({"service": "api"}, value)


def statuses(plan: RulePlan) -> list[tuple[str, bool, int]]:
    return [(n.status, n.repeat, len(n.series)) for n in plan.notifications]


def test_firing_and_resolving_are_each_notified_once_with_rendered_annotations() -> None:
    clock = Clock(Rule())
    fired = clock.tick([api(250)])
    assert statuses(fired) == [("firing", False, 1)]
    series = fired.notifications[0].series[0]
    assert series.labels == {
        "service": "api",
        "team": "web",
        "alertname": "Latency high",
        "severity": "warning",
    }
    assert series.annotations == {"summary": "api p95 250 ms"}
    assert fired.notifications[0].generator_url == "http://vigil.test/alerts/rules/7"
    assert statuses(clock.tick([api(260)])) == []
    resolved = clock.tick([api(50)])
    assert statuses(resolved) == [("resolved", False, 1)]
    assert resolved.notifications[0].series[0].ends_at == T0 + timedelta(seconds=60)
    assert resolved.notifications[0].series[0].starts_at == T0
    assert [t["to_state"] for t in resolved.transitions] == ["resolved"]


def test_pending_series_are_stored_but_not_notified() -> None:
    clock = Clock(Rule(for_seconds=60))
    first = clock.tick([api(250)])
    assert statuses(first) == []
    assert first.pending == 1
    assert [w.state.state for w in first.writes] == ["pending"]
    assert statuses(clock.tick([api(250)])) == []
    assert statuses(clock.tick([api(250)])) == [("firing", False, 1)]


def test_series_that_change_in_one_tick_are_grouped_into_one_notification() -> None:
    clock = Clock(Rule())
    plan = clock.tick([api(250), Sample({"service": "db"}, 300), Sample({"service": "ok"}, 1)])
    assert statuses(plan) == [("firing", False, 2)]
    assert plan.firing == 2


def test_silenced_firing_is_not_notified_until_the_silence_ends() -> None:
    clock = Clock(Rule(), silenced={"api"})
    plan = clock.tick([api(250)])
    assert statuses(plan) == []
    assert plan.firing == 1
    assert [t["to_state"] for t in plan.transitions] == ["firing"]  # evaluation goes on
    assert statuses(clock.tick([api(250)])) == []
    clock.silenced.clear()
    owed = clock.tick([api(250)])
    assert statuses(owed) == [("firing", False, 1)]
    assert owed.transitions == []  # no new transition, only the owed notification


def test_resolve_of_a_never_notified_firing_is_not_notified() -> None:
    clock = Clock(Rule(), silenced={"api"})
    clock.tick([api(250)])
    plan = clock.tick([api(1)])
    assert statuses(plan) == []
    assert [t["to_state"] for t in plan.transitions] == ["resolved"]


def test_still_firing_series_are_repeated_after_the_repeat_interval() -> None:
    clock = Clock(Rule())
    clock.tick([api(250)], seconds=int(REPEAT.total_seconds()) - 30)
    assert statuses(clock.tick([api(250)])) == []
    assert statuses(clock.tick([api(250)])) == [("firing", True, 1)]
    assert statuses(clock.tick([api(250)])) == []


def test_resend_group_holds_the_notified_firing_series_under_a_stable_key() -> None:
    clock = Clock(Rule())
    first = clock.tick([api(250)])
    second = clock.tick([api(270)])
    third = clock.tick([api(280)])
    assert first.resend is None  # the firing notification itself goes everywhere
    assert second.resend is not None
    assert third.resend is not None
    assert second.resend.idempotency_key == third.resend.idempotency_key
    assert third.resend.series[0].value == 280
    clock.silenced.add("api")
    assert clock.tick([api(270)]).resend is None


def test_no_data_ok_resolves_every_series() -> None:
    clock = Clock(Rule(no_data="ok"))
    clock.tick([api(250)])
    assert statuses(clock.tick([])) == [("resolved", False, 1)]


def test_no_data_keep_leaves_firing_series_firing() -> None:
    clock = Clock(Rule(no_data="keep"))
    clock.tick([api(250)])
    plan = clock.tick([])
    assert statuses(plan) == []
    assert plan.firing == 1
    assert plan.transitions == []


def test_no_data_alerting_fires_one_series_without_value() -> None:
    clock = Clock(Rule(no_data="alerting"))
    plan = clock.tick([])
    assert statuses(plan) == [("firing", False, 1)]
    series = plan.notifications[0].series[0]
    assert series.value is None
    assert series.annotations == {"summary": " p95 none ms"}
    assert fingerprint({}) in clock.stored
    # data back and fine: the no-data series resolves
    assert statuses(clock.tick([api(1)])) == [("resolved", False, 1)]


def test_signal_error_keeps_states_and_sends_nothing_new() -> None:
    clock = Clock(Rule())
    clock.tick([api(250)])
    plan = clock.tick(None)
    assert plan.transitions == []
    assert plan.notifications == []
    assert plan.firing == 1
    assert plan.resend is not None


def test_idempotency_keys_differ_between_notifications() -> None:
    clock = Clock(Rule())
    keys = [n.idempotency_key for n in clock.tick([api(250)]).notifications]
    keys += [n.idempotency_key for n in clock.tick([api(1)]).notifications]
    keys += [n.idempotency_key for n in clock.tick([api(250)]).notifications]
    assert len(set(keys)) == 3
