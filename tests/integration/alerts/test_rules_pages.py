"""The alert pages: admins create, edit, preview, enable, duplicate and delete rules;
viewers read without edit controls; what users typed is always shown escaped."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.models import AlertRule, AlertSeries, AlertTransition
from app.alerts.rule_store import create_rule
from app.alerts.rules import validate_rule
from app.db.base import utcnow
from app.services.models import Service
from tests.integration.auth.helpers import (
    csrf_headers,
    page_token,
)

FORM = {
    "name": "Shop API down",
    "signal": "service_down",
    "param.service_id": "",
    "comparison": "==",
    "threshold": "1",
    "for": "2m",
    "keep_firing_for": "0s",
    "severity": "critical",
    "labels": "team=shop",
    "annotations": "summary={{ $labels.service }} is down",
    "no_data": "ok",
    "enabled": "on",
}
XSS = '<script>alert("x")</script>'


def _main(page: str) -> str:
    """The page's main content (without the layout's user menu and its logout form)."""
    return page[page.index("<main") : page.index("</main>")]


async def _rules(sessions: async_sessionmaker[AsyncSession]) -> list[AlertRule]:
    async with sessions() as session:
        return list(await session.scalars(select(AlertRule).order_by(AlertRule.id)))


async def _seed_rule(sessions: async_sessionmaker[AsyncSession], **fields: Any) -> AlertRule:
    raw = {"name": "Shop API down", "signal": "service_down", "comparison": "==", "threshold": 1}
    async with sessions.begin() as session:
        return await create_rule(session, validate_rule(raw | fields), now=utcnow())


async def _seed_services(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Two services: shop is down, blog is up."""
    async with sessions.begin() as session:
        for name, state in (("shop", "down"), ("blog", "up")):
            session.add(
                Service(
                    name=name,
                    base_url=f"https://{name}.example.com",
                    ping_token=f"token-{name}",
                    state=state,
                )
            )


async def test_an_admin_creates_a_rule_through_the_form(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await page_token(admin, "/alerts/rules/new")

    created = await admin.post(
        "/alerts/rules", data=FORM | {"_csrf_token": token}, follow_redirects=False
    )

    assert created.status_code == 303, created.text
    [rule] = await _rules(sessions)
    assert created.headers["location"] == f"/alerts/rules/{rule.id}?done=created"
    assert (rule.signal, rule.comparison, rule.threshold) == ("service_down", "==", 1.0)
    assert (rule.for_seconds, rule.severity, rule.enabled) == (120, "critical", True)
    assert rule.labels == {"team": "shop"}
    assert rule.annotations == {"summary": "{{ $labels.service }} is down"}
    assert rule.params == {"service_id": None}
    page = await admin.get(created.headers["location"])
    assert "Rule created." in page.text
    assert "Edit rule" in page.text
    assert "Disable rule" in page.text


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"threshold": "lots"}, "threshold", "expected a number"),
        ({"for": "soon"}, "for", "expected a duration"),
        ({"labels": "no equals sign"}, "labels", "expected name=value"),
        (
            {"signal": "promql", "param.query": "sum(rate(x[5m])"},
            "params.query",
            "unclosed",
        ),
        ({"channel": "424242"}, "channel_ids", "no channel with id 424242"),
    ],
)
async def test_bad_form_input_is_shown_at_the_field_and_saves_nothing(
    admin: Any,
    sessions: async_sessionmaker[AsyncSession],
    changes: dict[str, str],
    field: str,
    reason: str,
) -> None:
    token = await page_token(admin, "/alerts/rules/new")
    data = FORM | changes
    if "param.query" in changes:
        data.pop("param.service_id")

    response = await admin.post("/alerts/rules", data=data | {"_csrf_token": token})

    assert response.status_code == 400
    text = html.unescape(response.text)
    assert reason in text
    error_id = field.replace(".", "-") + "-error"
    assert f'id="{error_id}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="Shop API down"' in response.text  # what was typed is kept
    assert await _rules(sessions) == []


async def test_a_duplicate_name_in_the_form_is_refused(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed_rule(sessions)
    token = await page_token(admin, "/alerts/rules/new")

    response = await admin.post(
        "/alerts/rules", data=FORM | {"name": "shop api DOWN", "_csrf_token": token}
    )

    assert response.status_code == 400
    assert "already exists" in response.text
    assert len(await _rules(sessions)) == 1


async def test_an_admin_edits_disables_duplicates_and_deletes_a_rule(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rule = await _seed_rule(sessions)
    token = await page_token(admin, f"/alerts/rules/{rule.id}/edit")
    edit_page = await admin.get(f"/alerts/rules/{rule.id}/edit")
    assert 'value="Shop API down"' in edit_page.text
    assert "Save changes" in edit_page.text

    saved = await admin.post(
        f"/alerts/rules/{rule.id}",
        data=FORM | {"threshold": "0.5", "name": "Shop down", "_csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    disabled = await admin.post(
        f"/alerts/rules/{rule.id}/disable", data={"_csrf_token": token}, follow_redirects=False
    )
    assert disabled.headers["location"] == f"/alerts/rules/{rule.id}?done=disabled"
    copied = await admin.post(
        f"/alerts/rules/{rule.id}/duplicate", data={"_csrf_token": token}, follow_redirects=False
    )
    assert copied.status_code == 303
    rows = {r.name: r for r in await _rules(sessions)}
    assert set(rows) == {"Shop down", "Shop down (copy)"}
    assert rows["Shop down"].threshold == 0.5
    assert rows["Shop down"].enabled is False
    assert rows["Shop down (copy)"].enabled is False

    confirm = await admin.get(f"/alerts/rules/{rule.id}/delete")
    assert "Delete the rule" in confirm.text
    deleted = await admin.post(
        f"/alerts/rules/{rule.id}/delete", data={"_csrf_token": token}, follow_redirects=False
    )
    assert deleted.headers["location"] == "/alerts?done=deleted"
    assert [r.name for r in await _rules(sessions)] == ["Shop down (copy)"]
    assert (await admin.get(f"/alerts/rules/{rule.id}")).status_code == 404


async def test_the_alerts_page_lists_firing_series_first_then_rules_with_health(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    down = await _seed_rule(sessions)
    broken = await _seed_rule(
        sessions, name="Latency", signal="service_latency_p95", comparison=">", threshold=500
    )
    now = utcnow()
    async with sessions.begin() as session:
        (await session.get(AlertRule, down.id)).health = "ok"  # type: ignore[union-attr]
        row = await session.get(AlertRule, broken.id)
        assert row is not None
        row.health, row.last_error, row.last_evaluated_at = "error", "database is locked", now
        session.add(
            AlertSeries(
                rule_id=down.id,
                fingerprint="f1",
                labels={"service": "shop"},
                state="firing",
                value=1.0,
                active_since=now - timedelta(minutes=5),
                firing_since=now - timedelta(minutes=3),
            )
        )
        session.add(
            AlertTransition(
                rule_id=down.id,
                fingerprint="f1",
                labels={"service": "shop"},
                from_state="pending",
                to_state="firing",
                value=1.0,
                at=now - timedelta(minutes=3),
            )
        )

    page = await admin.get("/alerts")

    assert page.status_code == 200
    text = page.text
    assert text.index("Firing and pending") < text.index('id="rules-title"')
    firing_table = text[text.index("alert-series-table") : text.index('id="rules-title"')]
    assert 'service="shop"' in html.unescape(firing_table)
    assert "Firing" in firing_table
    assert "Firing (1)" in text
    assert "database is locked" in text
    assert "New rule" in text
    detail = await admin.get(f"/alerts/rules/{down.id}")
    assert "pending <span" in detail.text  # the transition history
    assert "Transition history" in detail.text


async def test_a_viewer_reads_without_edit_controls(
    viewer: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rule = await _seed_rule(sessions)

    listing = await viewer.get("/alerts")
    detail = await viewer.get(f"/alerts/rules/{rule.id}")
    silences = await viewer.get("/alerts/silences")
    maintenance = await viewer.get("/alerts/maintenance")

    for page in (listing, detail, silences, maintenance):
        assert page.status_code == 200
        main = _main(page.text)
        assert "<form" not in main
        assert "<button" not in main
        assert "/edit" not in main
        assert "/delete" not in main
    assert "New rule" not in listing.text
    assert "Edit rule" not in detail.text
    assert "/alerts/rules/export?format=vigil" in listing.text  # reading the rules is fine
    assert (await viewer.get("/alerts/rules/new")).status_code == 403
    assert (await viewer.get(f"/alerts/rules/{rule.id}/edit")).status_code == 403
    token = await page_token(viewer, "/alerts")
    refused = await viewer.post(
        f"/alerts/rules/{rule.id}/delete", data={"_csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert len(await _rules(sessions)) == 1


async def test_a_rule_name_and_annotation_with_markup_are_shown_escaped(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rule = await _seed_rule(sessions, name=XSS, annotations={"summary": XSS}, labels={"x": XSS})

    for path in ("/alerts", f"/alerts/rules/{rule.id}", f"/alerts/rules/{rule.id}/edit"):
        page = await admin.get(path)
        assert XSS not in page.text, path
        assert "&lt;script&gt;" in page.text, path


async def _preview(admin: Any, data: dict[str, str]) -> str:
    token = await page_token(admin, "/alerts/rules/new")
    response = await admin.post("/alerts/rules/preview", data=data, headers=csrf_headers(token))
    assert response.status_code == 200, response.text
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


async def test_the_preview_says_which_series_would_fire_over_seeded_data(
    admin: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed_services(sessions)

    firing = await _preview(admin, FORM)
    everything = await _preview(admin, FORM | {"comparison": ">=", "threshold": "0"})
    quiet = await _preview(admin, FORM | {"threshold": "2"})
    invalid = await _preview(admin, FORM | {"threshold": "lots"})
    promql = await _preview(
        admin, FORM | {"signal": "promql", "param.query": "up"} | {"param.service_id": ""}
    )

    assert 'Would be firing now for 1 series: service="shop", team="shop" (value 1)' in firing
    assert "Would be firing now for 2 series:" in everything
    assert 'service="blog", team="shop" (value 0)' in everything
    assert "Not firing: none of 2 series meets the condition now." in quiet
    assert "Cannot preview yet: threshold: expected a number" in invalid
    assert promql.startswith("✕ Error:")  # no Prometheus configured
    vitals = FORM | {"signal": "web_vital_p75", "param.metric": "LCP", "comparison": ">"}
    no_data = await _preview(admin, vitals | {"threshold": "4000"})
    no_data_alerting = await _preview(admin, vitals | {"threshold": "4000", "no_data": "alerting"})
    assert "Not firing: the signal has no data now." in no_data
    assert "Would be firing now: the signal has no data (no-data policy: alerting)." in (
        no_data_alerting
    )
    assert await _rules(sessions) == []  # a preview stores nothing


async def test_the_parameter_fields_follow_the_signal(admin: Any) -> None:
    response = await admin.get(
        "/alerts/rules/params", params={"signal": "web_vital_p75", "param.min_samples": "7"}
    )

    assert response.status_code == 200
    assert response.headers["hx-trigger-after-settle"] == "rule-params-swapped"
    assert 'name="param.metric"' in response.text
    assert 'name="param.min_samples"' in response.text
    assert 'value="7"' in response.text
    promql = await admin.get("/alerts/rules/params", params={"signal": "promql"})
    assert 'name="param.query"' in promql.text
    assert "param.metric" not in promql.text
