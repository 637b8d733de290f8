"""/api/v1/rules: CRUD with bearer tokens; bad input gets a reasoned 4xx and saves nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts import rule_store
from app.alerts.models import AlertRule, AlertSeries, AlertTransition
from app.db.base import utcnow
from app.notify.models import Channel
from tests.integration.auth.helpers import token_headers

LCP = {
    "name": "Shop LCP slow",
    "signal": "web_vital_p75",
    "params": {"metric": "LCP"},
    "comparison": ">",
    "threshold": 4000,
    "for": "10m",
    "severity": "critical",
    "labels": {"team": "web"},
    "annotations": {"summary": "LCP p75 is {{ $value }} ms on {{ $labels.site }}"},
}
PROMQL = {
    "name": "5xx ratio",
    "signal": "promql",
    "params": {"query": "sum(rate(http_requests_total{code=~'5..'}[5m]))"},
    "threshold": 0.05,
}


@pytest.fixture
async def write(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    return await token_headers(sessions, scope="write")


async def _rules(sessions: async_sessionmaker[AsyncSession]) -> list[AlertRule]:
    async with sessions() as session:
        return list(await session.scalars(select(AlertRule).order_by(AlertRule.id)))


async def test_create_list_get_patch_enable_duplicate_and_delete_a_rule(
    client: Any, write: dict[str, str]
) -> None:
    created = await client.post("/api/v1/rules", json=LCP, headers=write)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["params"] == {
        "metric": "LCP",
        "site_id": None,
        "page": None,
        "window_days": 1,
        "min_samples": 50,
    }
    assert (rule["for_seconds"], rule["keep_firing_for_seconds"]) == (600, 0)
    assert (rule["threshold"], rule["severity"], rule["enabled"]) == (4000.0, "critical", True)
    assert (rule["health"], rule["last_evaluated_at"]) == ("unknown", None)

    listed = await client.get("/api/v1/rules", headers=write)
    assert [r["name"] for r in listed.json()] == ["Shop LCP slow"]
    assert (await client.get(f"/api/v1/rules/{rule['id']}", headers=write)).json() == rule

    patched = await client.patch(
        f"/api/v1/rules/{rule['id']}", json={"threshold": "2500", "for": "1h"}, headers=write
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["threshold"], patched.json()["for_seconds"]) == (2500.0, 3600)
    assert patched.json()["labels"] == {"team": "web"}

    disabled = await client.post(f"/api/v1/rules/{rule['id']}/disable", headers=write)
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    enabled = await client.post(f"/api/v1/rules/{rule['id']}/enable", headers=write)
    assert enabled.json()["enabled"] is True

    copy = await client.post(f"/api/v1/rules/{rule['id']}/duplicate", headers=write)
    again = await client.post(f"/api/v1/rules/{rule['id']}/duplicate", headers=write)
    assert copy.status_code == 201
    assert (copy.json()["name"], copy.json()["enabled"]) == ("Shop LCP slow (copy)", False)
    assert again.json()["name"] == "Shop LCP slow (copy 2)"
    assert copy.json()["threshold"] == 2500.0

    deleted = await client.delete(f"/api/v1/rules/{rule['id']}", headers=write)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/rules/{rule['id']}", headers=write)).status_code == 404
    assert (await client.delete(f"/api/v1/rules/{rule['id']}", headers=write)).status_code == 404
    names = [r["name"] for r in (await client.get("/api/v1/rules", headers=write)).json()]
    assert names == ["Shop LCP slow (copy 2)", "Shop LCP slow (copy)"]


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (PROMQL | {"params": {"query": "sum(rate(x[5m])"}}, "params.query", "unclosed"),
        (PROMQL | {"params": {"query": "  "}}, "params.query", "empty query"),
        (LCP | {"threshold": "lots"}, "threshold", "expected a number"),
        (LCP | {"threshold": None}, "threshold", "required"),
        (LCP | {"channel_ids": [12345]}, "channel_ids", "no channel with id 12345"),
        (LCP | {"channel_ids": ["x"]}, "channel_ids", "expected channel ids"),
        (LCP | {"signal": "vibes"}, "signal", "expected one of"),
        (LCP | {"params": {"metric": "LCP", "colour": 1}}, "params.colour", "unknown"),
        (LCP | {"params": {"metric": "XYZ"}}, "params.metric", "invalid enum value"),
        (LCP | {"comparison": "=>"}, "comparison", "expected one of"),
        (LCP | {"for": "soon"}, "for", "duration"),
        (LCP | {"labels": {"bad-name": "x"}}, "labels", "invalid name"),
        (LCP | {"annotations": {"summary": "{{ $value "}}, "annotations", "summary"),
        (LCP | {"name": "  "}, "name", "required"),
    ],
)
async def test_bad_rules_are_refused_naming_the_field_and_nothing_is_saved(
    client: Any,
    write: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    response = await client.post("/api/v1/rules", json=body, headers=write)

    assert response.status_code == 400, response.text
    assert response.json()["extra"]["field"] == field
    assert reason in response.json()["detail"]
    assert await _rules(sessions) == []


async def test_unknown_fields_are_refused(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post("/api/v1/rules", json=LCP | {"colour": "red"}, headers=write)

    assert response.status_code == 400
    assert "colour" in response.text
    assert await _rules(sessions) == []


async def test_a_duplicate_name_is_a_conflict_and_changes_nothing(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = (await client.post("/api/v1/rules", json=LCP, headers=write)).json()
    other = (await client.post("/api/v1/rules", json=PROMQL, headers=write)).json()

    again = await client.post("/api/v1/rules", json=LCP | {"name": "shop lcp SLOW"}, headers=write)
    renamed = await client.patch(
        f"/api/v1/rules/{other['id']}", json={"name": LCP["name"], "threshold": 1}, headers=write
    )

    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    assert renamed.status_code == 409
    rows = {r.name: r for r in await _rules(sessions)}
    assert set(rows) == {"Shop LCP slow", "5xx ratio"}
    assert rows["5xx ratio"].threshold == 0.05
    assert rows["Shop LCP slow"].id == first["id"]


async def test_a_bad_patch_changes_nothing(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    rule = (await client.post("/api/v1/rules", json=LCP, headers=write)).json()

    response = await client.patch(
        f"/api/v1/rules/{rule['id']}",
        json={"name": "Renamed", "params": {"metric": "LCP", "page": "no-slash"}},
        headers=write,
    )

    assert response.status_code == 400
    assert response.json()["extra"]["field"] == "params.page"
    [row] = await _rules(sessions)
    assert row.name == "Shop LCP slow"
    assert (await client.patch("/api/v1/rules/999", json={}, headers=write)).status_code == 404


async def test_changing_the_signal_needs_the_new_signals_params(
    client: Any, write: dict[str, str]
) -> None:
    rule = (await client.post("/api/v1/rules", json=LCP, headers=write)).json()

    to_promql = await client.patch(
        f"/api/v1/rules/{rule['id']}", json={"signal": "promql"}, headers=write
    )
    to_down = await client.patch(
        f"/api/v1/rules/{rule['id']}", json={"signal": "service_down"}, headers=write
    )

    assert to_promql.status_code == 400
    assert to_promql.json()["extra"]["field"] == "params.query"
    assert to_down.status_code == 200
    assert to_down.json()["params"] == {"service_id": None}


async def test_a_rule_may_name_existing_channels(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:
        channel = Channel(name="ops", kind="webhook", config={"url": "http://127.0.0.1:9/"})
        session.add(channel)
    response = await client.post(
        "/api/v1/rules", json=LCP | {"channel_ids": [channel.id]}, headers=write
    )
    assert response.status_code == 201, response.text
    assert response.json()["channel_ids"] == [channel.id]


async def test_readers_read_but_only_admins_with_write_tokens_change(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    read = await token_headers(sessions, scope="read")
    viewer = await token_headers(sessions, scope="write", role="viewer")

    assert (await client.get("/api/v1/rules", headers=read)).status_code == 200
    assert (await client.post("/api/v1/rules", json=LCP, headers=read)).status_code == 403
    assert (await client.post("/api/v1/rules", json=LCP, headers=viewer)).status_code == 403
    assert (await client.get("/api/v1/rules")).status_code == 401
    assert await _rules(sessions) == []


async def test_rules_report_their_series_counts_and_transition_history(
    client: Any, write: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    rule = (await client.post("/api/v1/rules", json=LCP, headers=write)).json()
    now = utcnow()
    async with sessions.begin() as session:
        for number, state in enumerate(("firing", "pending", "pending", "inactive")):
            session.add(
                AlertSeries(
                    rule_id=rule["id"],
                    fingerprint=f"f{number}",
                    labels={"site": f"s{number}"},
                    state=state,
                )
            )
        session.add(
            AlertTransition(
                rule_id=rule["id"],
                fingerprint="f0",
                labels={"site": "s0"},
                from_state="pending",
                to_state="firing",
                value=4200.0,
                at=now,
            )
        )

    [listed] = (await client.get("/api/v1/rules", headers=write)).json()
    got = (await client.get(f"/api/v1/rules/{rule['id']}", headers=write)).json()
    history = await client.get(f"/api/v1/rules/{rule['id']}/transitions", headers=write)

    assert (listed["firing"], listed["pending"]) == (1, 2)
    assert (got["firing"], got["pending"]) == (1, 2)
    assert history.status_code == 200
    [transition] = history.json()
    assert transition["labels"] == {"site": "s0"}
    assert (transition["from_state"], transition["to_state"], transition["value"]) == (
        "pending",
        "firing",
        4200.0,
    )
    assert (await client.get("/api/v1/rules/999/transitions", headers=write)).status_code == 404


async def test_a_name_taken_by_a_concurrent_request_is_a_conflict_not_a_crash(
    client: Any,
    write: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await client.post("/api/v1/rules", json=LCP, headers=write)

    async def free(*_: Any) -> None:  # the check ran before the other request committed
        return None

    monkeypatch.setattr(rule_store, "rule_by_name", free)
    response = await client.post("/api/v1/rules", json=LCP, headers=write)

    assert response.status_code == 409, response.text
    assert "already exists" in response.json()["detail"]
    assert len(await _rules(sessions)) == 1
