"""What the deploy tests read from compose.yaml, and the one override they apply to it.

There is no Docker engine here, so the tests run the same files on this machine. The only
change they make is :func:`local_addresses`: a compose service is reached by its name
(``vigil:8000``), a process here on ``127.0.0.1`` and a free port.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
PROMETHEUS_DIR = ROOT / "configs" / "prometheus"
ALERTMANAGER_FILE = ROOT / "configs" / "alertmanager" / "alertmanager.yml"
GRAFANA_DASHBOARDS = ROOT / "configs" / "grafana" / "dashboards"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def env_example() -> dict[str, str]:
    """``NAME=value`` lines of .env.example (commented-out ones too, with their value)."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z_][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` substitution."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match[1], match[2], match[3]
        current = env.get(name, "")
        if operator in (":?", "?") and not current:
            raise KeyError(f"{name} is required: {argument}")
        if operator in (":-", "-") and not current:
            return argument or ""
        return current

    return VARIABLE.sub(substitute, value)


def service_environment(service: str, env: dict[str, str]) -> dict[str, str]:
    """A service's ``environment:`` as the container sees it, with ``env`` as the .env file."""
    raw = load_compose()["services"][service].get("environment", {})
    return {name: interpolate(str(value), env) for name, value in raw.items()}


def operator_env() -> dict[str, str]:
    """Values an operator would put in .env: what .env.example asks for, filled in."""
    env = env_example()
    env |= {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "VIGIL_ADMIN_EMAIL": "admin@example.com",
        "VIGIL_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "VIGIL_METRICS_TOKEN": secrets.token_urlsafe(32),
        "VIGIL_PROMETHEUS_TOKEN": "vgl_" + secrets.token_urlsafe(32),
        "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(16),
    }
    return env


def local_addresses(text: str, ports: dict[str, int]) -> str:
    """Rewrite ``host:port`` addresses of compose services to ``127.0.0.1:<test port>``.

    ``ports`` maps the address used in the file (``"vigil:8000"``, ``"alertmanager:9093"``,
    and Prometheus' own ``"localhost:9090"``) to the port the process listens on here.
    Nothing else in the text changes.
    """
    for address, port in ports.items():
        text = re.sub(rf"(?<![\w.-]){re.escape(address)}(?!\d)", f"127.0.0.1:{port}", text)
    return text


def prometheus_dir(target: Path, ports: dict[str, int], env: dict[str, str]) -> Path:
    """configs/prometheus as compose mounts it at /etc/prometheus: prometheus.yml (addresses
    made local), rules/, and the two secrets compose mounts from .env under secrets/."""
    target.mkdir(parents=True, exist_ok=True)
    config = local_addresses((PROMETHEUS_DIR / "prometheus.yml").read_text(), ports)
    (target / "prometheus.yml").write_text(config)
    shutil.copytree(PROMETHEUS_DIR / "rules", target / "rules", dirs_exist_ok=True)
    secrets_dir = target / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    for name, spec in load_compose()["secrets"].items():
        (secrets_dir / name).write_text(env[spec["environment"]])
    return target / "prometheus.yml"
