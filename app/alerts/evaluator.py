"""Evaluating rules: one tick over every enabled rule (the leader's job), and a preview of
one rule that stores nothing (the rule form's live preview).

A tick reads every enabled rule's signal in one read session (rules on the same data
share a query), plans each rule's changes (``app.alerts.plan``), then writes the changed
rules' series, transitions and outbox rows in one transaction (each rule in a transaction
of its own if that fails), so a restart neither loses a firing alert nor notifies it
twice; values of still-active series and every rule's health follow in one batch. A rule
that fails (bad PromQL, Prometheus down) is marked ``health=error`` with its error and
never stops the others. Usage::

    evaluator = Evaluator(sessions, settings, metrics=metrics, scrapes=scrapes, http=client)
    report = await evaluator.tick()
    result = await preview(sessions, rule_in, SignalContext(now=utcnow()))
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Final, cast

import httpx
import msgspec
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.models import AlertRule, AlertSeries, AlertTransition
from app.alerts.notifications import alert_labels
from app.alerts.plan import RulePlan, SeriesWrite, StoredSeries, Suppressed, plan_rule
from app.alerts.rules import RuleIn
from app.alerts.signals import SIGNALS, ParamsError, Sample, SignalContext, SignalError
from app.alerts.signals.base import ScrapeReader
from app.alerts.states import SeriesState, holds
from app.alerts.suppression import Suppression, load_suppression
from app.config import Settings
from app.db.base import utcnow
from app.db.upsert import insert_for
from app.notify.messages import AlertNotification
from app.notify.outbox import enqueue, resend_firing
from app.telemetry import VigilMetrics

log = logging.getLogger(__name__)

NOT_CONFIGURED: Final = "not evaluated: alerts.prometheus_url is not set"
MAX_ERROR_LENGTH: Final = 1000
GAUGE_STATES: Final = ("pending", "firing")
PROMQL_CONCURRENCY: Final = 8
"""PromQL queries in flight at once during a tick."""
_SERIES_COLUMNS: Final = (
    "labels",
    "state",
    "value",
    "active_since",
    "firing_since",
    "last_seen_at",
    "last_notified_at",
    "resolved_at",
)


@dataclass(slots=True)
class TickReport:
    """What one tick did."""

    rules: int = 0
    errors: int = 0
    skipped: int = 0
    transitions: int = 0
    notifications: int = 0
    """Outbox rows written."""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RuleRow:
    """What a tick reads of an enabled rule (plain values: a rollback cannot expire them)."""

    id: int
    name: str
    signal: str
    params: dict[str, Any]
    comparison: str
    threshold: float
    for_seconds: int
    keep_firing_for_seconds: int
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    no_data: str
    channel_ids: list[int]
    health: str


_RULE_COLUMNS: Final = tuple(AlertRule.__table__.c[f.name] for f in fields(RuleRow))


@dataclass(slots=True)
class _Outcome:
    rule: RuleRow
    samples: Sequence[Sample] | None
    error: str | None
    seconds: float
    skipped: bool = False
    disabled: bool = False
    """A disabled rule whose series were still active: they resolve (and say so)."""
    plan: RulePlan = field(default_factory=RulePlan)
    stored: int | None = 0
    """Outbox rows written for it; None: its changes could not be stored."""


class Evaluator:
    """Evaluates every enabled rule once per :meth:`tick`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        metrics: VigilMetrics | None = None,
        scrapes: ScrapeReader | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._metrics = metrics
        self._scrapes = scrapes
        self._http = http
        self._gauged: set[tuple[str, str, str]] = set()

    def context(self, now: datetime, http: httpx.AsyncClient | None = None) -> SignalContext:
        """A fresh signal context (its per-tick cache is empty)."""
        alerts = self._settings.alerts
        return SignalContext(
            now=now,
            prometheus_url=alerts.prometheus_url,
            http=http or self._http,
            scrapes=self._scrapes,
            timeout_seconds=alerts.query_timeout_seconds,
        )

    async def tick(self, now: datetime | None = None) -> TickReport:
        """Evaluate every enabled rule at ``now`` (default: the current time) and store
        what changed. Without a client of its own, a tick opens one for PromQL rules."""
        now = now or utcnow()
        if self._http is None and self._settings.alerts.prometheus_url:
            timeout = self._settings.alerts.query_timeout_seconds
            async with httpx.AsyncClient(timeout=timeout) as http:
                return await self._tick(now, self.context(now, http))
        return await self._tick(now, self.context(now))

    async def _tick(self, now: datetime, ctx: SignalContext) -> TickReport:
        started = time.perf_counter()
        outcomes, suppression, stored = await self._evaluate(ctx)
        report = TickReport(rules=sum(not o.disabled for o in outcomes))
        repeat = timedelta(seconds=self._settings.alerts.repeat_interval_seconds)
        public_url = self._settings.server.public_url
        for outcome in outcomes:
            if outcome.skipped:
                report.skipped += 1
                continue
            rule = outcome.rule
            outcome.plan = plan_rule(
                rule,
                stored.get(rule.id, {}),
                outcome.samples,
                now=now,
                suppressed=_suppressed_for(rule.signal, suppression),
                repeat_interval=repeat,
                public_url=public_url,
            )
        await self._store_all([o for o in outcomes if o.plan.writes or o.plan.notifications])
        for outcome in outcomes:
            if outcome.stored is None:
                outcome.error = outcome.error or "could not store the evaluation"
            else:
                report.transitions += len(outcome.plan.transitions)
                report.notifications += outcome.stored
            if outcome.error is not None:
                report.errors += 1
        await self._finish(outcomes, now)
        self._observe(outcomes, suppression)
        report.seconds = time.perf_counter() - started
        return report

    async def _evaluate(
        self, ctx: SignalContext
    ) -> tuple[list[_Outcome], Suppression, dict[int, dict[str, StoredSeries]]]:
        outcomes = []
        async with self._sessions() as session:
            rows = await session.execute(
                select(*_RULE_COLUMNS).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
            )
            rules = [RuleRow(*row) for row in rows.all()]
            stored = await load_series(session)
            enabled = {rule.id for rule in rules}
            outcomes += [
                _Outcome(replace(rule, no_data="ok"), [], None, 0.0, disabled=True)
                for rule in await _rules(session, set(stored) - enabled)
            ]
            suppression = await load_suppression(session, ctx.now)
            for rule in rules:
                if rule.signal != "promql":
                    outcomes.append(await _evaluate_rule(session, rule, ctx))
            # PromQL rules only wait on Prometheus: no read transaction stays open meanwhile,
            # and a slow Prometheus delays the tick by one timeout, not one per rule.
            await session.commit()  # ends the read transaction
            limit = asyncio.Semaphore(PROMQL_CONCURRENCY)

            async def promql(rule: RuleRow) -> _Outcome:
                async with limit:
                    return await _evaluate_rule(session, rule, ctx)

            outcomes += await asyncio.gather(*(promql(r) for r in rules if r.signal == "promql"))
        return outcomes, suppression, stored

    async def _store_all(self, changed: Sequence[_Outcome]) -> None:
        """Every changed rule's series, transitions and outbox rows in one transaction; if
        that fails, each rule in a transaction of its own, so one bad rule keeps no other
        rule's notifications from being stored."""
        if len(changed) > 1:
            try:
                async with self._sessions.begin() as session:
                    counts = await _write_rules(session, changed)
            except Exception:
                log.warning("storing alert evaluations together failed; storing them one by one")
            else:
                for outcome, count in zip(changed, counts, strict=True):
                    outcome.stored = count
                return
        for outcome in changed:
            outcome.stored = await self._store(outcome)

    async def _store(self, outcome: _Outcome) -> int | None:
        """One rule's changes in one transaction; None on failure."""
        try:
            async with self._sessions.begin() as session:
                return (await _write_rules(session, [outcome]))[0]
        except Exception:
            log.exception("storing an alert evaluation failed", extra={"rule": outcome.rule.name})
            return None

    async def _finish(self, outcomes: Sequence[_Outcome], now: datetime) -> None:
        """Rules' health and timings in one batch; re-sends of firing groups."""
        rows = [
            {
                "b_id": o.rule.id,
                "b_health": "unknown" if o.skipped else ("error" if o.error else "ok"),
                "b_last_error": (o.error or None) if not o.skipped else NOT_CONFIGURED,
                "b_last_evaluated_at": now,
                "b_last_evaluation_seconds": o.seconds,
            }
            for o in outcomes
            if not o.disabled
        ]
        for outcome in outcomes:
            if outcome.error and outcome.rule.health != "error":
                log.warning(
                    "alert rule failed", extra={"rule": outcome.rule.name, "error": outcome.error}
                )
        resends = [o.plan.resend for o in outcomes if o.plan.resend is not None]
        refresh = [
            {"b_rule_id": o.rule.id, "b_fingerprint": w.fingerprint, **_refreshed(w)}
            for o in outcomes
            for w in o.plan.refresh
        ]
        try:
            async with self._sessions.begin() as session:
                if rows:
                    await session.execute(_HEALTH, rows)
                if refresh:
                    await session.execute(_REFRESH, refresh)
                await self._resend(session, resends, now)
        except Exception:
            log.exception("storing alert rule health failed")

    async def _resend(
        self, session: AsyncSession, resends: Sequence[AlertNotification], now: datetime
    ) -> None:
        if resends:
            await resend_firing(
                session,
                resends,
                now=now,
                interval_seconds=self._settings.notify.alertmanager_resend_seconds,
            )

    def _observe(self, outcomes: Sequence[_Outcome], suppression: Suppression) -> None:
        metrics = self._metrics
        if metrics is None:
            return
        metrics.set_maintenance(suppression.maintenance_active)
        gauged: set[tuple[str, str, str]] = set()
        for outcome in outcomes:
            if outcome.skipped or outcome.disabled:
                continue
            rule = outcome.rule
            metrics.alert_evaluations.labels(
                rule=rule.name, result="error" if outcome.error else "ok"
            ).inc()
            metrics.alert_evaluation_duration.observe(outcome.seconds)
            counts = {"pending": outcome.plan.pending, "firing": outcome.plan.firing}
            for state in GAUGE_STATES:
                key = (rule.name, rule.severity, state)
                metrics.alerts.labels(*key).set(counts[state])
                gauged.add(key)
        for stale in self._gauged - gauged:
            metrics.alerts.remove(*stale)
        self._gauged = gauged


_SERIES = cast(Table, AlertSeries.__table__)
_REFRESH: Final = (
    _SERIES.update()
    .where(
        _SERIES.c.rule_id == bindparam("b_rule_id"),
        _SERIES.c.fingerprint == bindparam("b_fingerprint"),
        _SERIES.c.state != "inactive",
    )
    .values(value=bindparam("b_value"), last_seen_at=bindparam("b_last_seen_at"))
)
"""Value and last-seen time of an active series (executemany, once per tick)."""
_RULES = cast(Table, AlertRule.__table__)
_HEALTH: Final = (
    _RULES.update()
    .where(_RULES.c.id == bindparam("b_id"))
    .values(
        health=bindparam("b_health"),
        last_error=bindparam("b_last_error"),
        last_evaluated_at=bindparam("b_last_evaluated_at"),
        last_evaluation_seconds=bindparam("b_last_evaluation_seconds"),
    )
)
"""A rule's health and last evaluation (executemany, once per tick; ``updated_at`` is left
alone: it says when an admin last changed the rule)."""


async def _write_rules(session: AsyncSession, outcomes: Sequence[_Outcome]) -> list[int]:
    """Write the rules' plans and enqueue their notifications; outbox rows per rule."""
    await write_plans(session, [(o.rule.id, o.plan) for o in outcomes])
    counts = []
    for outcome in outcomes:
        written = 0
        for item in outcome.plan.notifications:
            written += await enqueue(session, item, channel_ids=outcome.rule.channel_ids)
        counts.append(written)
    return counts


def _refreshed(write: SeriesWrite) -> dict[str, Any]:
    return {"b_value": write.state.value, "b_last_seen_at": write.state.last_seen_at}


def _suppressed_for(signal: str, suppression: Suppression) -> Suppressed:
    def suppressed(labels: Mapping[str, str]) -> bool:
        return suppression.reason(signal, labels) is not None

    return suppressed


async def _evaluate_rule(session: AsyncSession, rule: RuleRow, ctx: SignalContext) -> _Outcome:
    started = time.perf_counter()
    if rule.signal == "promql" and not ctx.prometheus_url:
        return _Outcome(rule, None, None, 0.0, skipped=True)
    try:
        samples: Sequence[Sample] | None = await read_signal(session, rule.signal, rule.params, ctx)
        error = None
    except (SignalError, ParamsError) as exc:
        samples, error = None, str(exc)
    except Exception as exc:
        log.exception("alert signal failed", extra={"rule": rule.name})
        if session.in_transaction():  # PostgreSQL: a failed statement aborts the transaction
            await session.rollback()
        samples, error = None, f"{type(exc).__name__}: {exc}"
    error = error[:MAX_ERROR_LENGTH] if error else None
    return _Outcome(rule, samples, error, time.perf_counter() - started)


async def read_signal(
    session: AsyncSession, signal: str, params: Mapping[str, Any], ctx: SignalContext
) -> Sequence[Sample]:
    """The current series of ``signal`` with stored ``params``; raises SignalError."""
    kind = SIGNALS.get(signal)
    if kind is None:
        raise SignalError(f"unknown signal {signal!r}")
    try:
        typed = msgspec.convert(dict(params), kind.params_type, strict=False)
    except msgspec.ValidationError as exc:
        raise SignalError(f"invalid parameters: {exc}") from None
    return await kind.evaluate(session, typed, ctx)


async def load_series(session: AsyncSession) -> dict[int, dict[str, StoredSeries]]:
    """Every pending and firing series, by rule id and fingerprint."""
    rows = await session.execute(
        select(
            _SERIES.c.rule_id,
            _SERIES.c.fingerprint,
            _SERIES.c.labels,
            _SERIES.c.state,
            _SERIES.c.value,
            _SERIES.c.active_since,
            _SERIES.c.firing_since,
            _SERIES.c.last_seen_at,
            _SERIES.c.last_notified_at,
        ).where(_SERIES.c.state != "inactive")
    )
    stored: dict[int, dict[str, StoredSeries]] = {}
    for rule_id, fp, labels, state, value, active, firing, seen, notified in rows.all():
        stored.setdefault(rule_id, {})[fp] = StoredSeries(
            fingerprint=fp,
            labels=dict(labels),
            state=SeriesState(state, value, active, firing, seen),
            last_notified_at=notified,
        )
    return stored


async def _rules(session: AsyncSession, rule_ids: set[int]) -> list[RuleRow]:
    if not rule_ids:
        return []
    rows = await session.execute(
        select(*_RULE_COLUMNS).where(AlertRule.id.in_(rule_ids)).order_by(AlertRule.id)
    )
    return [RuleRow(*row) for row in rows.all()]


async def write_plans(session: AsyncSession, plans: Sequence[tuple[int, RulePlan]]) -> None:
    """Upsert the plans' series rows and insert their transitions, one statement each
    (``plans``: rule id and plan; no commit)."""
    series = [write.row(rule_id) for rule_id, plan in plans for write in plan.writes]
    if series:
        statement = insert_for(session, AlertSeries)
        excluded = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=["rule_id", "fingerprint"],
            set_={name: getattr(excluded, name) for name in _SERIES_COLUMNS},
        )
        await session.execute(upsert, series)
    history = [{"rule_id": rule_id, **row} for rule_id, plan in plans for row in plan.transitions]
    if history:
        await session.execute(insert(AlertTransition), history)


# --------------------------------------------------------------------------- preview


class PreviewSeries(msgspec.Struct, frozen=True, kw_only=True):
    labels: dict[str, str]
    """The alert's labels (series labels, rule labels, alertname, severity)."""
    value: float | None
    would_fire: bool
    """The condition holds now (it fires once it has held for ``for``)."""


class Preview(msgspec.Struct, frozen=True, kw_only=True):
    """What a rule would see now; ``error`` set when its signal cannot be read."""

    series: list[PreviewSeries] = msgspec.field(default_factory=list)
    error: str | None = None
    no_data: bool = False
    """The signal has no series at all (the rule's no-data policy applies)."""


@dataclass(frozen=True, slots=True)
class _PreviewRule:
    id: int
    name: str
    severity: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


async def preview(
    sessions: async_sessionmaker[AsyncSession] | AsyncSession, rule: RuleIn, ctx: SignalContext
) -> Preview:
    """Evaluate ``rule`` now without storing anything."""
    if rule.signal == "promql" and not ctx.prometheus_url:
        return Preview(error=NOT_CONFIGURED)
    try:
        if isinstance(sessions, AsyncSession):
            samples = await read_signal(sessions, rule.signal, rule.params, ctx)
        else:
            async with sessions() as session:
                samples = await read_signal(session, rule.signal, rule.params, ctx)
    except (SignalError, ParamsError) as exc:
        return Preview(error=str(exc)[:MAX_ERROR_LENGTH])
    shown = _PreviewRule(0, rule.name, rule.severity, rule.labels, rule.annotations)
    return Preview(
        series=[
            PreviewSeries(
                labels=alert_labels(shown, s.labels),
                value=s.value,
                would_fire=holds(s.value, rule.comparison, rule.threshold),
            )
            for s in samples
        ],
        no_data=not samples,
    )
