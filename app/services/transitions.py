"""Apply check results and pause / resume to a service row, storing every state change.

These functions only add to the caller's session; the caller owns the transaction, so a
check result, the new counters and the state-change row are committed together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.check_hours import count_check
from app.services.checks import CheckResult
from app.services.models import Service, ServiceCheck, ServiceState, ServiceStateChange
from app.services.state import Health, Step, apply_check, paused, resumed


async def record_check(session: AsyncSession, service: Service, result: CheckResult) -> Step:
    """Store ``result`` as a check row, count it in its hour, move the service's state."""
    session.add(
        ServiceCheck(
            service_id=service.id,
            checked_at=result.checked_at,
            ok=result.ok,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            detail=result.detail,
        )
    )
    await count_check(session, service_id=service.id, checked_at=result.checked_at, ok=result.ok)
    service.last_check_at = result.checked_at
    step = apply_check(
        _health(service),
        ok=result.ok,
        detail=result.detail or result.error or "",
        failure_threshold=service.failure_threshold,
        success_threshold=service.success_threshold,
    )
    _apply(session, service, step, result.checked_at)
    return step


def pause(session: AsyncSession, service: Service, now: datetime) -> Step:
    """Disable the service: state ``paused``, no more checks until resumed."""
    service.enabled = False
    step = paused(_health(service))
    _apply(session, service, step, now)
    return step


def resume(session: AsyncSession, service: Service, now: datetime) -> Step:
    """Enable the service again: state ``pending``, counters at zero, checked at once."""
    service.enabled = True
    step = resumed(_health(service))
    _apply(session, service, step, now)
    if step.changed:
        service.next_check_at = now
    return step


def _health(service: Service) -> Health:
    state: ServiceState = service.state  # type: ignore[assignment]  # CHECK constraint
    return Health(state, service.consecutive_failures, service.consecutive_successes)


def _apply(session: AsyncSession, service: Service, step: Step, now: datetime) -> None:
    before = service.state
    service.consecutive_failures = step.health.failures
    service.consecutive_successes = step.health.successes
    if step.reason is None:
        return
    service.state = step.health.state
    service.state_changed_at = now
    session.add(
        ServiceStateChange(
            service_id=service.id,
            changed_at=now,
            from_state=before,
            to_state=step.health.state,
            reason=step.reason[:300],
        )
    )
