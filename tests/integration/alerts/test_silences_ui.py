"""Silences and maintenance windows: pages and API. Authors are the signed-in users; bad
matchers, times and time zones get a reason and save nothing; viewers only read."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.models import AlertSeries, AlertSilence, MaintenanceWindow
from app.alerts.rule_store import create_rule
from app.alerts.rules import validate_rule
from app.db.base import utcnow
from app.services.models import Service
from tests.integration.auth.helpers import (
    ADMIN_EMAIL,
    VIEWER_EMAIL,
    login,
    make_user,
    page_token,
    token_headers,
)


def _local(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


async def _silences(sessions: async_sessionmaker[AsyncSession]) -> list[AlertSilence]:
    async with sessions() as session:
        return list(await session.scalars(select(AlertSilence).order_by(AlertSilence.id)))


async def _windows(sessions: async_sessionmaker[AsyncSession]) -> list[MaintenanceWindow]:
    async with sessions() as session:
        return list(await session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.id)))


def _silence_form(token: str, **changes: str) -> dict[str, str]:
    now = utcnow()
    return {
        "matchers": 'alertname="Shop down"\nseverity=~"crit.*"',
        "starts_at": _local(now - timedelta(minutes=1)),
        "ends_at": _local(now + timedelta(hours=2)),
        "comment": "Database upgrade, OPS-42",
        "_csrf_token": token,
    } | changes


async def test_an_admin_silences_lists_and_expires(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await page_token(admin, "/alerts/silences")
    later = utcnow() + timedelta(days=1)

    created = await admin.post(
        "/alerts/silences", data=_silence_form(token), follow_redirects=False
    )
    pending = await admin.post(
        "/alerts/silences",
        data=_silence_form(
            token, starts_at=_local(later), ends_at=_local(later + timedelta(hours=1))
        ),
        follow_redirects=False,
    )

    assert created.status_code == 303, created.text
    assert pending.status_code == 303
    active, future = await _silences(sessions)
    assert active.author == ADMIN_EMAIL
    assert active.matchers == [
        {"name": "alertname", "op": "=", "value": "Shop down"},
        {"name": "severity", "op": "=~", "value": "crit.*"},
    ]
    page = html.unescape((await admin.get("/alerts/silences?done=silenced")).text)
    assert "Silence created." in page
    assert 'alertname="Shop down"' in page
    assert "Active" in page
    assert "Pending" in page

    expired = await admin.post(
        f"/alerts/silences/{active.id}/expire", data={"_csrf_token": token}, follow_redirects=False
    )
    again = await admin.post(f"/alerts/silences/{active.id}/expire", data={"_csrf_token": token})
    expired_future = await admin.post(
        f"/alerts/silences/{future.id}/expire", data={"_csrf_token": token}, follow_redirects=False
    )

    assert expired.status_code == 303
    assert again.status_code == 409
    assert "already expired" in again.text
    assert expired_future.status_code == 303
    now = utcnow()
    assert all(s.ends_at <= now for s in await _silences(sessions))
    assert "Active" not in (await admin.get("/alerts/silences")).text


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"matchers": 'service=~"(shop"'}, "invalid regular expression"),
        ({"matchers": "just words"}, "expected name=value"),
        ({"matchers": ""}, "at least one matcher"),
        ({"comment": "  "}, "say why"),
        ({"ends_at": "tomorrow"}, "expected a date and time"),
        ({"ends_at": "2020-01-01T00:00"}, "must be after the start"),
    ],
)
async def test_a_bad_silence_is_refused_with_the_reason_and_saves_nothing(
    admin: Any,
    sessions: async_sessionmaker[AsyncSession],
    changes: dict[str, str],
    reason: str,
) -> None:
    token = await page_token(admin, "/alerts/silences")

    response = await admin.post("/alerts/silences", data=_silence_form(token, **changes))

    assert response.status_code == 400
    assert reason in html.unescape(response.text)
    assert "Database upgrade" in response.text or changes.get("comment")  # typed text kept
    assert await _silences(sessions) == []


async def test_maintenance_windows_once_and_weekly_per_service_or_global(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:
        service = Service(name="shop", base_url="https://shop.example.com", ping_token="t" * 32)
        session.add(service)
    token = await page_token(admin, "/alerts/maintenance")
    now = utcnow()

    once = await admin.post(
        "/alerts/maintenance",
        data={
            "name": "Deploy",
            "service_id": str(service.id),
            "kind": "once",
            "starts_at": _local(now - timedelta(minutes=5)),
            "ends_at": _local(now + timedelta(hours=1)),
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    weekly = await admin.post(
        "/alerts/maintenance",
        data={
            "name": "Backups",
            "service_id": "",
            "kind": "weekly",
            "weekday": "6",
            "start_time": "02:30",
            "duration_minutes": "90",
            "timezone": "Europe/Berlin",
            "comment": "Nightly dump",
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    bad_zone = await admin.post(
        "/alerts/maintenance",
        data={"name": "X", "kind": "weekly", "timezone": "Mars/Olympus", "_csrf_token": token},
    )

    assert once.status_code == 303, once.text
    assert weekly.status_code == 303, weekly.text
    assert bad_zone.status_code == 400
    assert "unknown time zone" in html.unescape(bad_zone.text)
    deploy, backups = await _windows(sessions)
    assert (deploy.kind, deploy.service_id) == ("once", service.id)
    assert (backups.kind, backups.service_id, backups.timezone) == ("weekly", None, "Europe/Berlin")
    assert (backups.weekday, backups.start_time.isoformat(), backups.duration_minutes) == (  # type: ignore[union-attr]
        6,
        "02:30:00",
        90,
    )
    page = (await admin.get("/alerts/maintenance")).text
    assert "Every Sunday at 02:30 Europe/Berlin for 1h30m" in page
    assert "All services" in page
    assert "Active" in page  # the deploy window covers now

    deleted = await admin.post(
        f"/alerts/maintenance/{deploy.id}/delete",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert [w.name for w in await _windows(sessions)] == ["Backups"]


async def test_viewers_read_silences_and_windows_but_cannot_change_them(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, email=VIEWER_EMAIL, role="viewer")
    await login(client, email=VIEWER_EMAIL)
    token = await page_token(client, "/alerts/silences")

    page = await client.get("/alerts/silences")
    refused = await client.post(
        "/alerts/silences", data=_silence_form(token), follow_redirects=False
    )

    assert page.status_code == 200
    assert "New silence" not in page.text
    assert refused.status_code == 403
    assert await _silences(sessions) == []


async def test_the_silences_api(client: Any, sessions: async_sessionmaker[AsyncSession]) -> None:
    write = await token_headers(sessions, scope="write", name="cli")
    ends = (utcnow() + timedelta(hours=1)).isoformat()
    body = {
        "matchers": [{"name": "service", "op": "!~", "value": "test-.*"}],
        "ends_at": ends,
        "comment": "Incident 7",
    }

    created = await client.post("/api/v1/silences", json=body, headers=write)
    bad_regex = await client.post(
        "/api/v1/silences",
        json=body | {"matchers": [{"name": "a", "op": "=~", "value": "("}]},
        headers=write,
    )
    naive = await client.post("/api/v1/silences", json=body | {"ends_at": ends[:19]}, headers=write)
    unknown = await client.post("/api/v1/silences", json=body | {"x": 1}, headers=write)
    no_matchers = await client.post("/api/v1/silences", json=body | {"matchers": []}, headers=write)

    assert created.status_code == 201, created.text
    silence = created.json()
    assert (silence["author"], silence["status"]) == (ADMIN_EMAIL, "active")
    assert bad_regex.status_code == 400
    assert bad_regex.json()["extra"]["field"] == "matchers"
    assert "invalid regular expression" in bad_regex.json()["detail"]
    assert naive.status_code == 400
    assert unknown.status_code == 400
    assert no_matchers.status_code == 400
    assert len(await _silences(sessions)) == 1

    expired = await client.post(f"/api/v1/silences/{silence['id']}/expire", headers=write)
    assert expired.json()["status"] == "expired"
    assert (await client.post("/api/v1/silences/999/expire", headers=write)).status_code == 404
    listed = await client.get("/api/v1/silences", headers=write)
    assert [s["status"] for s in listed.json()] == ["expired"]


async def test_the_maintenance_api(client: Any, sessions: async_sessionmaker[AsyncSession]) -> None:
    write = await token_headers(sessions, scope="write", name="cli")
    weekly = {
        "name": "Backups",
        "kind": "weekly",
        "weekday": 0,
        "start_time": "03:00",
        "duration_minutes": 30,
        "timezone": "America/New_York",
    }

    created = await client.post("/api/v1/maintenance", json=weekly, headers=write)
    no_zone = await client.post(
        "/api/v1/maintenance", json=weekly | {"timezone": "Nowhere"}, headers=write
    )
    no_service = await client.post(
        "/api/v1/maintenance", json=weekly | {"service_id": 4242}, headers=write
    )
    bad_time = await client.post(
        "/api/v1/maintenance", json=weekly | {"start_time": "25:00"}, headers=write
    )
    backwards = await client.post(
        "/api/v1/maintenance",
        json={
            "name": "Deploy",
            "kind": "once",
            "starts_at": "2026-12-01T10:00:00Z",
            "ends_at": "2026-12-01T09:00:00Z",
        },
        headers=write,
    )

    assert created.status_code == 201, created.text
    assert created.json()["timezone"] == "America/New_York"
    assert (no_zone.status_code, no_zone.json()["extra"]["field"]) == (400, "timezone")
    assert (no_service.status_code, no_service.json()["extra"]["field"]) == (400, "service_id")
    assert (backwards.status_code, backwards.json()["extra"]["field"]) == (400, "ends_at")
    assert (bad_time.status_code, bad_time.json()["extra"]["field"]) == (400, "start_time")
    assert created.json()["start_time"] == "03:00:00"
    assert [w["name"] for w in (await client.get("/api/v1/maintenance", headers=write)).json()] == [
        "Backups"
    ]
    window_id = created.json()["id"]
    assert (
        await client.delete(f"/api/v1/maintenance/{window_id}", headers=write)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/maintenance/{window_id}", headers=write)
    ).status_code == 404
    assert await _windows(sessions) == []


async def test_the_alerts_page_says_which_notifications_are_held_back(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessions.begin() as session:
        for name in ("Shop down", "Blog down"):
            rule = await create_rule(
                session,
                validate_rule({"name": name, "signal": "service_down", "threshold": 0}),
                now=now,
            )
            session.add(
                AlertSeries(
                    rule_id=rule.id,
                    fingerprint=name[:4],
                    labels={"service": name.split()[0].lower()},
                    state="firing",
                    value=1.0,
                    active_since=now,
                    firing_since=now,
                )
            )
        session.add(
            AlertSilence(
                matchers=[{"name": "alertname", "op": "=", "value": "Shop down"}],
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(hours=1),
                comment="on it",
                author=ADMIN_EMAIL,
            )
        )

    silenced = (await admin.get("/alerts")).text
    async with sessions.begin() as session:
        session.add(
            MaintenanceWindow(
                name="Everything",
                kind="once",
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(hours=1),
            )
        )
    maintenance = (await admin.get("/alerts")).text

    rows = silenced[silenced.index("<tbody>") : silenced.index("</tbody>")].split("<tr>")[1:]
    held = {("Shop down" in row, "Silenced" in row, "Not sent yet" in row) for row in rows}
    assert held == {(True, True, False), (False, False, True)}
    assert "maintenance window</a> is active" not in silenced
    assert "maintenance window</a> is active" in maintenance
    assert maintenance.count("In maintenance") == 2
