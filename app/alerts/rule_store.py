"""Rules as rows: create, change, enable, duplicate and delete validated rules.

Input is a :class:`~app.alerts.rules.RuleIn` (see :func:`~app.alerts.rules.validate_rule`);
these functions add the checks that need the database (a free name, channels that exist)
and never commit: the caller's transaction stores all or nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Final

import httpx
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import AlertRule, AlertSeries, AlertTransition
from app.alerts.rules import RuleError, RuleIn, check_references, validate_rule
from app.rum.models import Site
from app.services.models import Service

COPY_SUFFIX: Final = " (copy)"
PROMETHEUS_CHECK_TIMEOUT: Final = 5.0
TRANSITIONS_SHOWN: Final = 100


class DuplicateRuleError(RuleError):
    """Another rule has this name."""


class RuleNotFoundError(LookupError):
    """No rule with that id."""


def rule_fields(rule: AlertRule | RuleIn) -> dict[str, Any]:
    """The fields ``validate_rule`` reads, from a stored rule (for patches and exports)."""
    return {
        "name": rule.name,
        "signal": rule.signal,
        "params": dict(rule.params),
        "comparison": rule.comparison,
        "threshold": rule.threshold,
        "for_seconds": rule.for_seconds,
        "keep_firing_for_seconds": rule.keep_firing_for_seconds,
        "severity": rule.severity,
        "labels": dict(rule.labels),
        "annotations": dict(rule.annotations),
        "no_data": rule.no_data,
        "enabled": rule.enabled,
        "channel_ids": list(rule.channel_ids),
    }


def merged(rule: AlertRule, changes: Mapping[str, Any]) -> RuleIn:
    """The rule with ``changes`` applied, validated as a whole (``for`` may replace
    ``for_seconds``, and a new signal needs its own params)."""
    fields = rule_fields(rule)
    for short in ("for", "keep_firing_for"):
        if short in changes:
            fields.pop(f"{short}_seconds")
    if "signal" in changes and changes["signal"] != rule.signal and "params" not in changes:
        fields["params"] = {}
    return validate_rule(fields | dict(changes))


@asynccontextmanager
async def prometheus_checker(
    prometheus_url: str, rule: RuleIn
) -> AsyncIterator[httpx.AsyncClient | None]:
    """An HTTP client to let Prometheus check a PromQL rule's query (None when not needed)."""
    if rule.signal != "promql" or not prometheus_url:
        yield None
        return
    async with httpx.AsyncClient(timeout=PROMETHEUS_CHECK_TIMEOUT) as http:
        yield http


async def list_rules(session: AsyncSession) -> list[AlertRule]:
    return list(await session.scalars(select(AlertRule).order_by(AlertRule.name)))


async def get_rule(session: AsyncSession, rule_id: int) -> AlertRule:
    rule = await session.get(AlertRule, rule_id)
    if rule is None:
        raise RuleNotFoundError(f"no rule with id {rule_id}")
    return rule


async def rule_by_name(session: AsyncSession, name: str) -> AlertRule | None:
    found = await session.scalars(
        select(AlertRule).where(func.lower(AlertRule.name) == name.lower()).limit(1)
    )
    return found.first()


async def _check(
    session: AsyncSession,
    rule: RuleIn,
    *,
    except_id: int | None,
    prometheus_url: str,
    http: httpx.AsyncClient | None,
) -> None:
    same_name = await rule_by_name(session, rule.name)
    if same_name is not None and same_name.id != except_id:
        raise DuplicateRuleError("name", f"a rule named {same_name.name!r} already exists")
    await check_references(session, rule, prometheus_url=prometheus_url, http=http)


async def _flush(session: AsyncSession, rule: RuleIn) -> None:
    """Write; a name taken meanwhile by a concurrent request is a duplicate, not a crash."""
    try:
        await session.flush()
    except IntegrityError:
        raise DuplicateRuleError("name", f"a rule named {rule.name!r} already exists") from None


def _apply(row: AlertRule, rule: RuleIn, *, now: datetime) -> None:
    for name, value in rule_fields(rule).items():
        setattr(row, name, value)
    row.updated_at = now


async def create_rule(
    session: AsyncSession,
    rule: RuleIn,
    *,
    now: datetime,
    prometheus_url: str = "",
    http: httpx.AsyncClient | None = None,
) -> AlertRule:
    await _check(session, rule, except_id=None, prometheus_url=prometheus_url, http=http)
    row = AlertRule(health="unknown", created_at=now)
    _apply(row, rule, now=now)
    session.add(row)
    await _flush(session, rule)
    return row


async def update_rule(
    session: AsyncSession,
    rule_id: int,
    rule: RuleIn,
    *,
    now: datetime,
    prometheus_url: str = "",
    http: httpx.AsyncClient | None = None,
) -> AlertRule:
    row = await get_rule(session, rule_id)
    await _check(session, rule, except_id=rule_id, prometheus_url=prometheus_url, http=http)
    _apply(row, rule, now=now)
    await _flush(session, rule)
    return row


async def set_enabled(
    session: AsyncSession, rule_id: int, *, enabled: bool, now: datetime
) -> AlertRule:
    row = await get_rule(session, rule_id)
    if row.enabled != enabled:
        row.enabled = enabled
        row.updated_at = now
        await session.flush()
    return row


async def duplicate_rule(session: AsyncSession, rule_id: int, *, now: datetime) -> AlertRule:
    """A disabled copy named ``<name> (copy)`` (``(copy 2)``, ... when taken)."""
    row = await get_rule(session, rule_id)
    base = row.name[: 200 - len(" (copy 99)")]
    number = 1
    name = base + COPY_SUFFIX
    while await rule_by_name(session, name) is not None:
        number += 1
        name = f"{base} (copy {number})"
    copy = validate_rule(rule_fields(row) | {"name": name, "enabled": False})
    return await create_rule(session, copy, now=now)


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    await session.delete(await get_rule(session, rule_id))
    await session.flush()


async def replace_rules(
    session: AsyncSession, rules: Sequence[RuleIn], *, now: datetime
) -> tuple[int, int]:
    """Create each rule, or update the one with its name; (created, updated)."""
    created = updated = 0
    for rule in rules:
        existing = await rule_by_name(session, rule.name)
        if existing is None:
            await create_rule(session, rule, now=now)
            created += 1
        else:
            await update_rule(session, existing.id, rule, now=now)
            updated += 1
    return created, updated


async def rule_series(session: AsyncSession, rule_id: int) -> list[AlertSeries]:
    """The rule's series that are pending or firing, firing first."""
    rows = await session.scalars(
        select(AlertSeries)
        .where(AlertSeries.rule_id == rule_id, AlertSeries.state != "inactive")
        .order_by(AlertSeries.state, AlertSeries.active_since)
    )
    return list(rows)


async def active_series(session: AsyncSession) -> list[tuple[AlertSeries, AlertRule]]:
    """Every pending or firing series with its rule: firing first, then the oldest."""
    rows = await session.execute(
        select(AlertSeries, AlertRule)
        .join(AlertRule, AlertRule.id == AlertSeries.rule_id)
        .where(AlertSeries.state.in_(("pending", "firing")))
        .order_by(AlertSeries.state, AlertSeries.active_since, AlertRule.name)
    )
    return [(series, rule) for series, rule in rows.all()]


async def series_counts(session: AsyncSession) -> dict[int, dict[str, int]]:
    """``{rule_id: {"firing": n, "pending": m}}`` over the series that are not inactive."""
    rows = await session.execute(
        select(AlertSeries.rule_id, AlertSeries.state, func.count())
        .where(AlertSeries.state != "inactive")
        .group_by(AlertSeries.rule_id, AlertSeries.state)
    )
    counts: dict[int, dict[str, int]] = {}
    for rule_id, state, count in rows.all():
        counts.setdefault(rule_id, {})[state] = count
    return counts


async def transitions(
    session: AsyncSession, rule_id: int, *, limit: int = TRANSITIONS_SHOWN
) -> list[AlertTransition]:
    """The rule's latest state changes, newest first."""
    rows = await session.scalars(
        select(AlertTransition)
        .where(AlertTransition.rule_id == rule_id)
        .order_by(AlertTransition.at.desc(), AlertTransition.id.desc())
        .limit(limit)
    )
    return list(rows)


async def site_names(session: AsyncSession) -> dict[int, str]:
    """RUM sites a Web Vitals rule can name, by name."""
    rows = await session.execute(select(Site.id, Site.name).order_by(Site.name))
    return {row.id: row.name for row in rows}


async def service_names(session: AsyncSession) -> dict[int, str]:
    """Registered services a rule or maintenance window can name, by name."""
    rows = await session.execute(select(Service.id, Service.name).order_by(Service.name))
    return {row.id: row.name for row in rows}
