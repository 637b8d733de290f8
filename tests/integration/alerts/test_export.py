"""Rule files against a real database: export, import into an empty database, export again
(identical); the Prometheus file passes the real promtool; one bad rule imports nothing,
from the CLI (exit 2) and from the page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts import export
from app.alerts.defaults import ensure_default_rules
from app.alerts.models import AlertRule
from app.alerts.rule_store import create_rule, list_rules
from app.alerts.rules import validate_rule
from app.db.base import utcnow
from app.notify.models import Channel
from app.rum.models import Site
from app.services.models import Service
from tests.integration.auth.helpers import ADMIN_EMAIL, login, make_user, page_token

PROMTOOL = Path("/usr/bin/promtool")
VIGIL = [sys.executable, "-m", "app"]


def _promtool(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )


def vigil(*args: str, db_url: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    return subprocess.run(
        [*VIGIL, *args],
        env=env | {"VIGIL_DATABASE__URL": db_url},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The default rules plus one rule per remaining signal, one with a channel."""
    async with sessions.begin() as session:
        session.add(Channel(name="ops", kind="webhook", config={"url": "http://127.0.0.1:9/"}))
        session.add(Site(name="Shop", key="k" * 16))
        session.add(Service(name="api", base_url="https://api.example.com", ping_token="t" * 32))
        await session.flush()
        await ensure_default_rules(session)
        channel = (await session.scalars(select(Channel))).one()
        site = (await session.scalars(select(Site))).one()
        service = (await session.scalars(select(Service))).one()
        extra = [
            {
                "name": "Checkout INP",
                "signal": "web_vital_p75",
                "params": {"metric": "INP", "site_id": site.id, "page": "/checkout"},
                "threshold": 500,
                "keep_firing_for": "15m",
                "labels": {"team": "shop"},
                "annotations": {"summary": "INP p75 {{ $value }} ms on {{ $labels.page }}"},
                "no_data": "keep",
                "channel_ids": [channel.id],
            },
            {
                "name": "API slow",
                "signal": "service_latency_p95",
                "params": {"service_id": service.id, "window_seconds": 600},
                "threshold": 800,
                "severity": "info",
                "enabled": False,
            },
            {
                "name": "API 5xx",
                "signal": "scraped_metric",
                "params": {
                    "service_id": service.id,
                    "selector": 'http_requests_total{code=~"5.."}',
                    "aggregation": "sum",
                },
                "comparison": ">=",
                "threshold": 10,
            },
        ]
        for raw in extra:
            await create_rule(session, validate_rule(raw), now=utcnow())


async def _export(sessions: async_sessionmaker[AsyncSession], fmt: export.Format) -> str:
    async with sessions() as session:
        return await export.export_rules(session, fmt)


async def _delete_rules(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(AlertRule))


@pytest.mark.parametrize("fmt", ["vigil", "prometheus"])
async def test_export_import_into_an_empty_database_and_export_again_is_identical(
    sessions: async_sessionmaker[AsyncSession], fmt: export.Format
) -> None:
    await _seed(sessions)
    first = await _export(sessions, fmt)
    await _delete_rules(sessions)

    async with sessions.begin() as session:
        result = await export.import_rules(session, first, now=utcnow())
    again = await _export(sessions, fmt)

    assert again == first
    if fmt == "vigil":
        assert result == export.ImportResult(created=10, updated=0)
        assert "channels:\n  - ops" in first
        assert "site: Shop" in first  # sites and services by name: the file is portable
        assert "service: api" in first
    else:
        assert result == export.ImportResult(created=2, updated=0)
        assert "Checkout INP" not in first  # only PromQL rules are Prometheus rules


@pytest.mark.skipif(not PROMTOOL.exists(), reason="needs /usr/bin/promtool")
async def test_the_prometheus_export_passes_the_real_promtool(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _seed(sessions)
    path = tmp_path / "rules.yml"
    path.write_text(await _export(sessions, "prometheus"))

    result = _promtool(path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rules found" in result.stdout
    text = path.read_text()
    assert "groups:\n- name: vigil\n  rules:\n" in text
    assert "> 0.05" in text
    assert "for: 5m" in text
    assert "severity: critical" in text


async def test_a_bad_rule_in_the_file_imports_nothing_and_names_the_rule_and_field(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    text = (
        "vigil_rules: 1\nrules:\n"
        "- name: Fine\n  signal: service_down\n  comparison: '=='\n  threshold: 1\n"
        "- name: Broken\n  signal: promql\n  params: {query: 'sum(rate(x[5m])'}\n"
        "  threshold: 1\n"
        "- name: Later\n  signal: task_failed\n  threshold: nope\n"
    )

    with pytest.raises(export.RuleFileError) as caught:
        async with sessions.begin() as session:
            await export.import_rules(session, text, now=utcnow())

    assert (caught.value.rule, caught.value.field) == ("Broken", "params.query")
    async with sessions() as session:
        assert await list_rules(session) == []


async def test_unknown_channels_in_a_vigil_file_import_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    text = (
        "vigil_rules: 1\nrules:\n"
        "- name: Down\n  signal: service_down\n  threshold: 1\n  channels: [pager]\n"
    )
    with pytest.raises(export.RuleFileError, match="no channel named 'pager'"):
        async with sessions.begin() as session:
            await export.import_rules(session, text, now=utcnow())


async def test_a_prometheus_import_replaces_a_rule_but_keeps_its_vigil_only_fields(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)
    async with sessions.begin() as session:
        rule = (
            await session.scalars(select(AlertRule).where(AlertRule.signal == "promql"))
        ).first()
        assert rule is not None
        name, channel = rule.name, (await session.scalars(select(Channel))).one()
        rule.channel_ids, rule.no_data, rule.enabled = [channel.id], "keep", False
    text = (
        "groups:\n- name: vigil\n  rules:\n"
        f"  - alert: {name}\n    expr: (up) == 0\n    labels: {{severity: info}}\n"
    )

    async with sessions.begin() as session:
        result = await export.import_rules(session, text, now=utcnow())

    assert result == export.ImportResult(created=0, updated=1)
    async with sessions() as session:
        row = (await session.scalars(select(AlertRule).where(AlertRule.name == name))).one()
    assert (row.params, row.comparison, row.threshold) == ({"query": "up"}, "==", 0.0)
    assert (row.severity, row.channel_ids, row.no_data, row.enabled) == (
        "info",
        [channel.id],
        "keep",
        False,
    )


async def test_the_cli_exports_and_imports_into_an_empty_database(
    sessions: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path
) -> None:
    await _seed(sessions)
    exported = vigil("rules", "export", str(tmp_path / "rules.yml"), db_url=db_url)
    prometheus = vigil("rules", "export", "--format", "prometheus", db_url=db_url)
    assert exported.returncode == 0, exported.stderr
    assert prometheus.returncode == 0, prometheus.stderr
    assert prometheus.stdout == await _export(sessions, "prometheus")
    first = (tmp_path / "rules.yml").read_text()
    await _delete_rules(sessions)

    imported = vigil("rules", "import", str(tmp_path / "rules.yml"), db_url=db_url)
    again = vigil("rules", "export", db_url=db_url)

    assert imported.returncode == 0, imported.stderr
    assert "imported 10 new and 0 replaced rules" in imported.stdout
    assert again.stdout == first


def test_the_cli_refuses_a_bad_file_with_exit_2_and_imports_nothing(
    db_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "groups:\n- name: vigil\n  rules:\n"
        "  - alert: Good\n    expr: up == 0\n"
        "  - alert: Bad\n    expr: up > 1\n    for: soon\n"
    )

    result = vigil("rules", "import", str(bad), db_url=db_url)
    listing = vigil("rules", "export", db_url=db_url)

    assert result.returncode == 2
    assert "nothing imported: rule 'Bad' field 'for'" in result.stderr
    assert "expected a duration" in result.stderr
    assert "rules: []" in listing.stdout


async def test_rule_files_download_and_upload_in_the_ui(
    client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessions)
    await make_user(sessions, email=ADMIN_EMAIL, role="admin")
    await login(client, email=ADMIN_EMAIL)
    downloaded = await client.get("/alerts/rules/export?format=vigil")
    prometheus = await client.get("/alerts/rules/export?format=prometheus")
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"].startswith("application/yaml")
    assert 'filename="vigil-rules.yml"' in downloaded.headers["content-disposition"]
    assert prometheus.text == await _export(sessions, "prometheus")
    await _delete_rules(sessions)
    token = await page_token(client, "/alerts")

    bad = await client.post(
        "/alerts/rules/import",
        data={"_csrf_token": token},
        files={"file": ("rules.yml", b"vigil_rules: 1\nrules:\n- name: X\n  signal: nope\n")},
    )
    none = await client.post(
        "/alerts/rules/import", data={"_csrf_token": token}, files={"file": ("", b"")}
    )
    async with sessions() as session:
        assert await list_rules(session) == []
    good = await client.post(
        "/alerts/rules/import",
        data={"_csrf_token": token},
        files={"file": ("rules.yml", downloaded.content)},
        follow_redirects=False,
    )

    assert bad.status_code == 400
    assert "Nothing imported: rule &#39;X&#39; field &#39;signal&#39;" in bad.text
    assert none.status_code == 400
    assert good.status_code == 303, good.text
    assert good.headers["location"] == "/alerts?done=imported&created=10&updated=0"
    assert (await client.get("/alerts/rules/export?format=vigil")).text == downloaded.text
    page = await client.get(good.headers["location"])
    assert "Rules imported: 10 created, 0 replaced." in page.text
