"""promtool and amtool (Debian's binaries) on the shipped Prometheus and Alertmanager files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.compose import ALERTMANAGER_FILE, PROMETHEUS_DIR, operator_env, prometheus_dir

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.test.yml"))

pytestmark = pytest.mark.skipif(
    not (Path(PROMTOOL).exists() and Path(AMTOOL).exists()),
    reason="needs Debian's prometheus and prometheus-alertmanager (make system-deps)",
)


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_accepts_prometheus_yml_with_its_rules_and_token_files(tmp_path: Path) -> None:
    # As mounted by compose (secrets next to it); the addresses stay the compose ones.
    config = prometheus_dir(tmp_path, {}, operator_env())
    result = run(PROMTOOL, "check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout


def test_promtool_accepts_the_rule_files() -> None:
    result = run(PROMTOOL, "check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = run(PROMTOOL, "test", "rules", *RULE_TESTS, cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_catch_a_changed_threshold(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(PROMETHEUS_DIR / "rules", rules)
    lcp = rules / "web-vitals.yml"
    lcp.write_text(lcp.read_text().replace('metric="LCP"}) > 4', 'metric="LCP"}) > 5'))
    tests = tmp_path / "tests"
    shutil.copytree(PROMETHEUS_DIR / "tests", tests)
    result = run(PROMTOOL, "test", "rules", *sorted(tests.glob("*.test.yml")), cwd=tmp_path)
    assert result.returncode != 0
    assert "WebVitalsLcpPoor" in result.stdout + result.stderr


def test_every_rule_has_unit_tests_firing_and_not_firing() -> None:
    alerts = {
        rule["alert"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else silent).add(check["alertname"])
    assert alerts == firing, f"never shown firing: {alerts - firing}"
    assert alerts == silent, f"never shown not firing: {alerts - silent}"


def test_amtool_accepts_alertmanager_yml() -> None:
    result = run(AMTOOL, "check-config", ALERTMANAGER_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=VigilDown", "severity=critical"], "oncall"),
        (["alertname=WebVitalsLcpPoor", "severity=warning", "site=shop"], "team"),
        (["alertname=VigilMaintenance", "severity=none"], "null"),
        (["alertname=Deploy", "severity=none", "vigil_service=shop"], "null"),
    ],
)
def test_alerts_are_routed_by_severity(labels: list[str], receiver: str) -> None:
    result = run(AMTOOL, "config", "routes", "test", f"--config.file={ALERTMANAGER_FILE}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_maintenance_and_deploys_inhibit_notifications() -> None:
    config = yaml.safe_load(ALERTMANAGER_FILE.read_text())
    inhibits = {tuple(rule["source_matchers"]): rule for rule in config["inhibit_rules"]}
    maintenance = inhibits[('alertname="VigilMaintenance"',)]
    assert maintenance["target_matchers"] == ['severity=~"critical|warning"']
    deploy = inhibits[('alertname="Deploy"',)]
    assert deploy["equal"] == ["vigil_service"]
