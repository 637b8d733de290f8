"""The evaluation tick on both databases: persisted states across restarts, one
notification per transition, failing rules isolated, suppression of notifications only."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.defaults import DEFAULT_RULES, ensure_default_rules
from app.alerts.evaluator import Evaluator, preview
from app.alerts.jobs import EvaluationJob
from app.alerts.models import AlertRule, AlertSeries, AlertSilence, MaintenanceWindow
from app.alerts.rules import RuleError, check_references, validate_rule
from app.alerts.signals import SIGNALS, SignalContext
from app.config import AlertsSettings, DatabaseSettings, Settings
from app.db.engine import create_engine, create_session_factory
from app.notify.models import Channel, OutboxEntry
from app.telemetry import VigilMetrics
from tests.conftest import make_settings
from tests.integration.alerts.engine_seed import (
    add_checks,
    add_rule,
    add_service,
    add_task,
    add_webhook_channel,
    outbox,
    rule_row,
    series_states,
    set_service_state,
    transitions,
)
from tests.support.server import free_port

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


def settings_for(db_url: str, **alerts: object) -> Settings:
    return make_settings(db_url, alerts=AlertsSettings(**alerts))  # type: ignore[arg-type]


async def test_firing_survives_a_restart_and_is_notified_exactly_once(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    db = await add_service(sessions, "db", state="down")
    rule = await add_rule(sessions, name="Service down", signal="service_down")
    settings = settings_for(db_url)

    first = await Evaluator(sessions, settings).tick(T0)
    assert (first.transitions, first.notifications) == (1, 1)
    assert await series_states(sessions, rule) == {"db": "firing"}

    # a new process: its own engine and evaluator, the same database
    engine = create_engine(DatabaseSettings(url=db_url))
    try:
        restarted = Evaluator(create_session_factory(engine), settings)
        for minute in range(1, 4):
            report = await restarted.tick(T0 + timedelta(minutes=minute))
            assert (report.transitions, report.notifications) == (0, 0)
        assert await series_states(sessions, rule) == {"db": "firing"}
        await set_service_state(sessions, db, "up")
        await restarted.tick(T0 + timedelta(minutes=5))
    finally:
        await engine.dispose()

    sent = await outbox(sessions)
    assert [(n.status, n.repeat) for n in sent] == [("firing", False), ("resolved", False)]
    assert sent[0].series[0].labels["service"] == "db"
    assert sent[1].series[0].ends_at == T0 + timedelta(minutes=5)
    assert await transitions(sessions, rule) == [("inactive", "firing"), ("firing", "resolved")]
    assert await series_states(sessions, rule) == {"db": "inactive"}


async def test_ticks_twice_at_the_same_instant_write_nothing_twice(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    await add_service(sessions, "db", state="down")
    await add_rule(sessions, name="Service down", signal="service_down")
    evaluator = Evaluator(sessions, settings_for(db_url))
    await evaluator.tick(T0)
    await evaluator.tick(T0)
    assert len(await outbox(sessions)) == 1


async def test_a_failing_rule_is_marked_unhealthy_and_the_others_still_run(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    await add_service(sessions, "db", state="down")
    broken = await add_rule(
        sessions, name="Prometheus rule", signal="promql", params={"query": "up == 0"}
    )
    stored_bad = await add_rule(sessions, name="Bad params", signal="service_down")
    async with sessions.begin() as session:
        (await session.get_one(AlertRule, stored_bad)).params = {"service_id": "not a number"}
    working = await add_rule(sessions, name="Service down", signal="service_down")
    # Prometheus "configured" on a port nobody listens on
    settings = settings_for(db_url, prometheus_url=f"http://127.0.0.1:{free_port()}")

    report = await Evaluator(sessions, settings).tick(T0)

    assert (report.rules, report.errors) == (3, 2)
    promql = await rule_row(sessions, broken)
    assert promql.health == "error"
    assert promql.last_error is not None
    assert "Prometheus unreachable" in promql.last_error
    bad = await rule_row(sessions, stored_bad)
    assert bad.health == "error"
    assert bad.last_error is not None
    assert "invalid parameters" in bad.last_error
    ok = await rule_row(sessions, working)
    assert (ok.health, ok.last_error, ok.last_evaluated_at) == ("ok", None, T0)
    assert await series_states(sessions, working) == {"db": "firing"}
    assert [n.rule_id for n in await outbox(sessions)] == [working]


async def test_promql_rules_are_skipped_while_no_prometheus_is_configured(
    db_url: str, sessions: Sessions
) -> None:
    rule = await add_rule(sessions, name="p", signal="promql", params={"query": "up"})
    report = await Evaluator(sessions, settings_for(db_url)).tick(T0)
    assert (report.skipped, report.errors) == (1, 0)
    row = await rule_row(sessions, rule)
    assert row.health == "unknown"
    assert row.last_error is not None
    assert "prometheus_url" in row.last_error


async def test_silence_holds_notifications_back_while_states_evolve_then_notifies(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    await add_service(sessions, "db", state="down")
    rule = await add_rule(sessions, name="Service down", signal="service_down")
    async with sessions.begin() as session:
        session.add(
            AlertSilence(
                matchers=[{"name": "service", "op": "=~", "value": "d."}],
                starts_at=T0 - timedelta(minutes=1),
                ends_at=T0 + timedelta(minutes=10),
                comment="migrating the database",
                author="admin@example.com",
            )
        )
    evaluator = Evaluator(sessions, settings_for(db_url))
    await evaluator.tick(T0)
    await evaluator.tick(T0 + timedelta(minutes=5))
    assert await series_states(sessions, rule) == {"db": "firing"}
    assert await transitions(sessions, rule) == [("inactive", "firing")]
    assert await outbox(sessions) == []

    await evaluator.tick(T0 + timedelta(minutes=10))  # the silence has ended, still firing
    sent = await outbox(sessions)
    assert [(n.status, n.series[0].starts_at) for n in sent] == [("firing", T0)]


async def test_global_maintenance_window_suppresses_notifications_and_sets_the_gauge(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    await add_service(sessions, "db", state="down")
    rule = await add_rule(sessions, name="Service down", signal="service_down")
    async with sessions.begin() as session:
        session.add(
            MaintenanceWindow(
                name="Sunday patching",
                kind="weekly",
                weekday=T0.weekday(),
                start_time=time(11, 30),
                duration_minutes=60,
                timezone="UTC",
            )
        )
    metrics = VigilMetrics(CollectorRegistry())
    evaluator = Evaluator(sessions, settings_for(db_url), metrics=metrics)
    await evaluator.tick(T0)
    registry = metrics.registry
    assert registry.get_sample_value("vigil_maintenance_mode") == 1
    assert await series_states(sessions, rule) == {"db": "firing"}
    assert await outbox(sessions) == []
    await evaluator.tick(T0 + timedelta(minutes=31))  # window over at 12:30
    assert registry.get_sample_value("vigil_maintenance_mode") == 0
    assert [n.status for n in await outbox(sessions)] == ["firing"]


async def test_service_maintenance_window_covers_only_that_service(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    db = await add_service(sessions, "db", state="down")
    await add_service(sessions, "api", state="down")
    await add_rule(sessions, name="Service down", signal="service_down")
    async with sessions.begin() as session:
        session.add(
            MaintenanceWindow(
                name="db upgrade",
                service_id=db,
                kind="once",
                starts_at=T0 - timedelta(hours=1),
                ends_at=T0 + timedelta(hours=1),
            )
        )
    await Evaluator(sessions, settings_for(db_url)).tick(T0)
    sent = await outbox(sessions)
    assert [[s.labels["service"] for s in n.series] for n in sent] == [["api"]]


async def test_down_service_inhibits_its_latency_and_task_alerts_but_not_itself(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    api = await add_service(sessions, "api", state="down")
    web = await add_service(sessions, "web", state="up")
    for service in (api, web):
        await add_checks(sessions, service, [900.0] * 5, at=T0 - timedelta(minutes=1))
        await add_task(sessions, service, "backup", status="failed")
    latency = await add_rule(sessions, name="Slow", signal="service_latency_p95", threshold=500)
    failed = await add_rule(sessions, name="Task failed", signal="task_failed")
    await add_rule(sessions, name="Service down", signal="service_down")

    await Evaluator(sessions, settings_for(db_url)).tick(T0)

    assert await series_states(sessions, latency) == {"api": "firing", "web": "firing"}
    assert await series_states(sessions, failed) == {"api,backup": "firing", "web,backup": "firing"}
    notified = sorted(
        (n.rule_name, s.labels["service"]) for n in await outbox(sessions) for s in n.series
    )
    assert notified == [("Service down", "api"), ("Slow", "web"), ("Task failed", "web")]


async def test_reminder_after_the_repeat_interval(db_url: str, sessions: Sessions) -> None:
    await add_webhook_channel(sessions)
    await add_service(sessions, "db", state="down")
    await add_rule(sessions, name="Service down", signal="service_down")
    evaluator = Evaluator(sessions, settings_for(db_url, repeat_interval_seconds=3600))
    await evaluator.tick(T0)
    await evaluator.tick(T0 + timedelta(minutes=59))
    await evaluator.tick(T0 + timedelta(minutes=60))
    await evaluator.tick(T0 + timedelta(minutes=61))
    sent = await outbox(sessions)
    assert [(n.status, n.repeat, n.created_at) for n in sent] == [
        ("firing", False, T0),
        ("firing", True, T0 + timedelta(minutes=60)),
    ]


async def test_evaluation_metrics_count_rules_and_alert_states(
    db_url: str, sessions: Sessions
) -> None:
    await add_service(sessions, "db", state="down")
    await add_service(sessions, "api", state="down")
    await add_rule(sessions, name="Service down", signal="service_down", severity="critical")
    slow = await add_rule(sessions, name="Down for long", signal="service_down", **{"for": "10m"})
    metrics = VigilMetrics(CollectorRegistry())
    evaluator = Evaluator(sessions, settings_for(db_url), metrics=metrics)
    await evaluator.tick(T0)
    value = metrics.registry.get_sample_value
    assert (
        value("vigil_alerts", {"rule": "Service down", "severity": "critical", "state": "firing"})
        == 2
    )
    assert (
        value("vigil_alerts", {"rule": "Down for long", "severity": "warning", "state": "pending"})
        == 2
    )
    assert value("vigil_alert_evaluations_total", {"rule": "Service down", "result": "ok"}) == 1
    assert value("vigil_alert_evaluation_duration_seconds_count") == 2
    async with sessions.begin() as session:
        await session.delete(await session.get_one(AlertRule, slow))
    await evaluator.tick(T0 + timedelta(seconds=30))
    assert (
        value("vigil_alerts", {"rule": "Down for long", "severity": "warning", "state": "pending"})
        is None
    )


async def test_default_rules_are_created_once(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        assert await ensure_default_rules(session) == len(DEFAULT_RULES)
    async with sessions.begin() as session:
        assert await ensure_default_rules(session) == 0
        names = set(await session.scalars(select(AlertRule.name)))
        signals = set(await session.scalars(select(AlertRule.signal)))
    assert "LCP p75 above 4 s" in names
    assert signals == {
        "web_vital_p75",
        "service_down",
        "task_failed",
        "task_overdue",
        "promql",
    }


async def test_preview_says_which_series_would_fire_without_storing(
    db_url: str, sessions: Sessions
) -> None:
    await add_service(sessions, "db", state="down")
    await add_service(sessions, "api", state="up")
    rule = validate_rule({"name": "x", "signal": "service_down", "threshold": 0})
    result = await preview(sessions, rule, SignalContext(now=T0))
    assert result.error is None
    assert [(s.labels["service"], s.would_fire) for s in result.series] == [
        ("api", False),
        ("db", True),
    ]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AlertSeries)) == 0
    bad = validate_rule(
        {"name": "x", "signal": "promql", "params": {"query": "up"}, "threshold": 0}
    )
    assert "prometheus_url" in ((await preview(sessions, bad, SignalContext(now=T0))).error or "")


async def test_keep_firing_for_counts_from_the_last_tick_the_condition_held(
    db_url: str, sessions: Sessions
) -> None:
    db = await add_service(sessions, "db", state="down")
    rule = await add_rule(
        sessions, name="Service down", signal="service_down", keep_firing_for="1m"
    )
    evaluator = Evaluator(sessions, settings_for(db_url))
    await evaluator.tick(T0)
    await evaluator.tick(T0 + timedelta(seconds=30))  # still down: last seen moves on
    async with sessions() as session:
        row = (await session.scalars(select(AlertSeries))).one()
        assert row.last_seen_at == T0 + timedelta(seconds=30)
    await set_service_state(sessions, db, "up")
    await evaluator.tick(T0 + timedelta(seconds=60))
    assert await series_states(sessions, rule) == {"db": "firing"}
    await evaluator.tick(T0 + timedelta(seconds=90))
    assert await series_states(sessions, rule) == {"db": "inactive"}
    assert await transitions(sessions, rule) == [("inactive", "firing"), ("firing", "resolved")]


class _DeletesRuleMidTick(Evaluator):
    """Deletes a rule after the signals were read, before the tick stores its changes."""

    rule_id = 0

    async def _evaluate(self, ctx):  # type: ignore[no-untyped-def]
        result = await super()._evaluate(ctx)
        async with self._sessions.begin() as session:
            await session.delete(await session.get_one(AlertRule, self.rule_id))
        return result


async def test_changes_that_cannot_be_stored_do_not_keep_other_rules_from_notifying(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    await add_service(sessions, "db", state="down")
    gone = await add_rule(sessions, name="Deleted meanwhile", signal="service_down")
    kept = await add_rule(sessions, name="Service down", signal="service_down")
    evaluator = _DeletesRuleMidTick(sessions, settings_for(db_url))
    evaluator.rule_id = gone
    report = await evaluator.tick(T0)
    assert report.errors == 1
    assert [n.rule_id for n in await outbox(sessions)] == [kept]
    assert await series_states(sessions, kept) == {"db": "firing"}


async def test_unknown_channel_is_a_rule_error(sessions: Sessions) -> None:
    channel = await add_webhook_channel(sessions)
    rule = validate_rule(
        {"name": "x", "signal": "service_down", "threshold": 0, "channel_ids": [channel, 99]}
    )
    async with sessions() as session:
        with pytest.raises(RuleError) as error:
            await check_references(session, rule)
    assert error.value.field == "channel_ids"
    assert "99" in error.value.message


class _BrokenQuery:
    """A signal whose query fails in the database (a table that does not exist)."""

    kind = "task_failed"
    params_type = SIGNALS["task_failed"].params_type

    def check(self, params: object) -> None:
        pass

    async def evaluate(self, session: AsyncSession, params: object, ctx: object) -> list[object]:
        await session.execute(text("SELECT * FROM no_such_table"))
        return []


async def test_a_database_error_in_one_signal_does_not_stop_the_tick(
    db_url: str, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_webhook_channel(sessions)
    await add_service(sessions, "db", state="down")
    first = await add_rule(sessions, name="Service down", signal="service_down")
    broken = await add_rule(sessions, name="Broken", signal="task_failed")
    last = await add_rule(sessions, name="Down too", signal="service_down")
    monkeypatch.setitem(SIGNALS, "task_failed", _BrokenQuery())
    report = await Evaluator(sessions, settings_for(db_url)).tick(T0)
    assert report.errors == 1
    row = await rule_row(sessions, broken)
    assert row.health == "error"
    assert "no_such_table" in (row.last_error or "")
    for rule in (first, last):
        assert await series_states(sessions, rule) == {"db": "firing"}


async def test_firing_groups_are_re_sent_to_alertmanager_once_per_slot(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    async with sessions.begin() as session:
        session.add(Channel(name="am", kind="alertmanager", config={"url": "http://127.0.0.1:9/"}))
    await add_service(sessions, "db", state="down")
    await add_rule(sessions, name="Service down", signal="service_down")
    evaluator = Evaluator(sessions, settings_for(db_url))  # re-sends every 60 s
    for seconds in (0, 30, 50, 60):
        await evaluator.tick(T0 + timedelta(seconds=seconds))
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Channel.kind, OutboxEntry.idempotency_key)
                .join(Channel, Channel.id == OutboxEntry.channel_id)
                .order_by(OutboxEntry.id)
            )
        ).all()
    kinds = [kind for kind, _key in rows]
    assert sorted(kinds) == ["alertmanager", "alertmanager", "alertmanager", "webhook"]
    resends = [key for kind, key in rows if "#resend-" in key]
    assert len(resends) == 2  # the slots of 12:00:30 and 12:01:00


async def test_evaluation_job_creates_the_defaults_on_its_first_run_unless_disabled(
    db_url: str, sessions: Sessions
) -> None:
    off = settings_for(db_url, create_default_rules=False)
    await EvaluationJob(sessions, off, Evaluator(sessions, off)).run()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AlertRule)) == 0
    on = settings_for(db_url)
    job = EvaluationJob(sessions, on, Evaluator(sessions, on))
    first = await job.run()
    await job.run()
    assert first.rules == len(DEFAULT_RULES)
    assert first.skipped == 2  # the PromQL ones, without a Prometheus
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AlertRule)) == len(
            DEFAULT_RULES
        )


async def test_disabling_a_firing_rule_resolves_its_series_and_says_so(
    db_url: str, sessions: Sessions
) -> None:
    await add_webhook_channel(sessions)
    await add_service(sessions, "db", state="down")
    rule = await add_rule(sessions, name="Service down", signal="service_down")
    evaluator = Evaluator(sessions, settings_for(db_url))
    await evaluator.tick(T0)
    async with sessions.begin() as session:
        (await session.get_one(AlertRule, rule)).enabled = False
    report = await evaluator.tick(T0 + timedelta(seconds=30))
    assert report.rules == 0
    assert await series_states(sessions, rule) == {"db": "inactive"}
    assert [n.status for n in await outbox(sessions)] == ["firing", "resolved"]
    assert (await rule_row(sessions, rule)).last_evaluated_at == T0  # not evaluated
    await evaluator.tick(T0 + timedelta(seconds=60))
    assert len(await outbox(sessions)) == 2
