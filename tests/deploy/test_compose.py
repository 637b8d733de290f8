"""compose.yaml, .env.example and the Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.deploy.compose import (
    COMPOSE_FILE,
    DEPLOY_DOC,
    PROMETHEUS_DIR,
    ROOT,
    VARIABLE,
    env_example,
    interpolate,
    load_compose,
    operator_env,
    service_environment,
)

SPEC = ROOT.parent / "shared" / "compose-spec.json"
DOCKERFILE = ROOT / "Dockerfile"


def test_compose_file_follows_the_compose_specification() -> None:
    jsonschema.Draft7Validator(json.loads(SPEC.read_text())).validate(load_compose())


def test_the_schema_check_catches_a_misspelt_key() -> None:
    broken = load_compose()
    broken["services"]["vigil"]["depends_onn"] = broken["services"]["vigil"].pop("depends_on")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(json.loads(SPEC.read_text())).validate(broken)


def test_every_image_is_pinned_to_a_tag() -> None:
    for name, service in load_compose()["services"].items():
        image = service.get("image", "")
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: image {image!r} has no tag"
        assert "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"
        assert re.search(r"\d", tag), f"{name}: tag {tag!r} is not a version"


def test_every_mounted_file_exists() -> None:
    mounts = [
        (name, volume.split(":")[0])
        for name, service in load_compose()["services"].items()
        for volume in service.get("volumes", [])
        if volume.startswith((".", "/"))
    ]
    assert mounts, "compose.yaml mounts the configs"
    for name, source in mounts:
        assert (COMPOSE_FILE.parent / source).exists(), f"{name} mounts missing {source}"


def test_vigil_waits_for_a_healthy_postgres_and_postgres_has_a_volume() -> None:
    services = load_compose()["services"]
    assert services["vigil"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert services["grafana"]["profiles"] == ["grafana"]


def test_every_port_and_variable_is_documented_in_deploy_md() -> None:
    doc = DEPLOY_DOC.read_text()
    compose = COMPOSE_FILE.read_text()
    variables = {match[0] for match in VARIABLE.findall(compose)}
    for service in load_compose()["services"].values():
        variables |= set(service.get("environment", {}))
    ports = {"4318", "5432"}  # OTLP and PostgreSQL: used inside the network, not published
    for service in load_compose()["services"].values():
        for mapping in service.get("ports", []):
            container = mapping.rsplit(":", 1)[1]
            default = re.search(r":-(\d+)\}", mapping)
            ports |= {container, default[1] if default else container}
    undocumented = sorted(v for v in variables if f"`{v}`" not in doc)
    assert not undocumented, f"not in docs/deploy.md: {undocumented}"
    assert not sorted(p for p in ports if f"`{p}`" not in doc and f":{p}`" not in doc)


def test_env_example_lists_every_variable_compose_reads_and_env_is_ignored() -> None:
    used = {match[0] for match in VARIABLE.findall(COMPOSE_FILE.read_text())}
    secrets_from_env = {s["environment"] for s in load_compose()["secrets"].values()}
    assert used | secrets_from_env <= set(env_example())
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0, ".env must be in .gitignore"


def test_required_secrets_stop_compose_when_empty() -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        service_environment("vigil", env_example())
    env = service_environment("vigil", operator_env())
    assert env["VIGIL_SERVER__HOST"] == "0.0.0.0"
    assert env["VIGIL_TELEMETRY__TRACING__ENDPOINT"] == "http://jaeger:4318/v1/traces"
    assert interpolate("${VIGIL_PORT:-8000}:8000", {}) == "8000:8000"


def test_prometheus_gets_the_tokens_where_prometheus_yml_reads_them() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    files = {
        job["job_name"]: (job.get("authorization") or job["http_sd_configs"][0]["authorization"])[
            "credentials_file"
        ]
        for job in config["scrape_configs"]
        if job["job_name"] in ("vigil", "vigil-services")
    }
    mounted = {s["target"] for s in load_compose()["services"]["prometheus"]["secrets"]}
    assert {f"/etc/prometheus/{path}" for path in files.values()} == mounted
    volumes = load_compose()["services"]["prometheus"]["volumes"]
    assert "./configs/prometheus/rules:/etc/prometheus/rules:ro" in volumes
    vigil_env = load_compose()["services"]["vigil"]["environment"]
    assert vigil_env["VIGIL_TELEMETRY__METRICS__BEARER_TOKEN"].startswith("${VIGIL_METRICS_TOKEN")


def _dockerfile() -> str:
    return DOCKERFILE.read_text()


def test_dockerfile_pins_its_bases_runs_unprivileged_and_checks_health() -> None:
    text = _dockerfile()
    bases = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert bases
    assert all(":" in b and not b.endswith(":latest") for b in bases)
    assert any(re.match(r"python:3\.11\.\d+-slim", b) for b in bases)
    assert re.search(r"^USER vigil$", text, flags=re.M)
    healthcheck = re.search(r"^HEALTHCHECK .*\n\s+CMD (.*)$", text, flags=re.M)
    assert healthcheck
    assert "/healthz" in healthcheck[1]
    assert "urllib.request" in healthcheck[1]
    assert 'VOLUME ["/data"]' in text
    assert "VIGIL_SERVER__HOST=0.0.0.0" in text
    assert re.search(r'^CMD \["serve"\]$', text, flags=re.M)


def test_dockerfile_copies_only_existing_paths_and_installs_from_the_lock_file() -> None:
    text = _dockerfile()
    for sources in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", text, flags=re.M):
        for source in sources.split():
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    syncs = re.findall(r"^RUN (uv sync .*)$", text, flags=re.M)
    assert syncs
    assert all("--frozen" in s for s in syncs)


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "data"} <= set(ignored)
    copied = {Path(s).parts[0] for s in re.findall(r"^COPY (?!--from)(\S+)", _dockerfile(), re.M)}
    assert not copied & set(ignored)
