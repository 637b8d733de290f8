"""What the Dockerfile builds, built here: its COPY lines and its `uv sync` from the lock
file into a fresh directory, then `vigil serve` with compose's environment on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_DSN, _admin_execute
from tests.deploy.compose import ROOT, local_addresses, operator_env, service_environment
from tests.support.server import free_port

DOCKERFILE = ROOT / "Dockerfile"
UV = shutil.which("uv")
METRICS_TOKEN_SETTING = "VIGIL_TELEMETRY__METRICS__BEARER_TOKEN"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(UV is None, reason="needs uv on PATH"),
]


def build_stage() -> str:
    text = DOCKERFILE.read_text()
    return text.split(" AS build", 1)[1].split("\nFROM ", 1)[0]


def dockerfile_env(stage: str) -> dict[str, str]:
    """``ENV a=1 \\ b=2`` instructions of one stage."""
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", stage, flags=re.M):
        for pair in shlex.split(block.replace("\\\n", " ")):
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def build(target: Path) -> Path:
    """Run the build stage's COPY and `RUN uv sync ...` lines with /app = ``target``."""
    stage = build_stage()
    for instruction in re.findall(r"^(COPY|RUN) (.+)$", stage, flags=re.M):
        kind, args = instruction
        if kind == "COPY" and not args.startswith("--from"):
            *sources, destination = args.split()
            for source in sources:
                dest = (
                    target / destination / Path(source).name
                    if destination.endswith("/")
                    else target / destination
                )
                dest.parent.mkdir(parents=True, exist_ok=True)
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, dest)
                else:
                    shutil.copy2(ROOT / source, dest)
        elif kind == "RUN":
            assert args.startswith("uv sync"), f"unexpected RUN in the build stage: {args}"
            env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
            env |= dockerfile_env(stage) | {
                "UV_PROJECT_ENVIRONMENT": str(target / ".venv"),
                # Speed only: hard links from uv's cache, no bytecode compilation.
                "UV_LINK_MODE": "hardlink",
                "UV_COMPILE_BYTECODE": "0",
            }
            command = [UV or "uv", *shlex.split(args)[1:], "--offline", "--quiet"]
            result = subprocess.run(
                command, cwd=target, env=env, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, result.stderr
    return target / ".venv"


def test_the_image_build_serves_with_the_compose_environment_on_postgresql(
    tmp_path: Path,
) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    venv = build(app_dir)
    python = venv / "bin" / "python"

    # The build has Vigil's runtime dependencies and nothing from the dev or bench groups.
    installed = subprocess.run(
        [str(python), "-c", "import app, litestar, asyncpg; print(app.__file__)"],
        cwd=tmp_path,  # not the checkout: the venv alone must find the copied code
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert installed.strip() == str(app_dir / "app" / "__init__.py")
    for dev_only in ("pytest", "granian", "playwright"):
        probe = subprocess.run(
            [str(python), "-c", f"import {dev_only}"], cwd=tmp_path, capture_output=True
        )
        assert probe.returncode != 0, f"{dev_only} is in the image"

    database = f"vigil_deploy_{secrets.token_hex(4)}"
    asyncio.run(_admin_execute(f'CREATE DATABASE "{database}"'))
    port = free_port()
    runtime = dockerfile_env(DOCKERFILE.read_text().rsplit("\nFROM ", 1)[1])
    compose_env = {
        name: local_addresses(value, {"jaeger:4318": free_port(), "prometheus:9090": free_port()})
        for name, value in service_environment("vigil", operator_env()).items()
    }
    pg_base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        | runtime
        | compose_env
        | {
            # The test's own PostgreSQL database and a free port, instead of postgres:5432
            # and 8000 inside the compose network.
            "VIGIL_DATABASE__URL": f"{pg_base}/{database}",
            "VIGIL_SERVER__PORT": str(port),
            "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        }
    )
    assert env["VIGIL_SERVER__HOST"] == "0.0.0.0"
    log = tmp_path / "vigil.log"
    try:
        with log.open("w") as out:
            # ENTRYPOINT ["vigil"], CMD ["serve"], WORKDIR /app
            proc = subprocess.Popen(
                [str(venv / "bin" / "vigil"), "serve"],
                cwd=app_dir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 40
            statuses: dict[str, int] = {}
            while time.monotonic() < deadline and statuses != {"/healthz": 200, "/readyz": 200}:
                assert proc.poll() is None, log.read_text()
                with contextlib.suppress(httpx.TransportError):
                    statuses = {
                        p: httpx.get(url + p, timeout=2).status_code
                        for p in ("/healthz", "/readyz")
                    }
                time.sleep(0.3)
            assert statuses == {"/healthz": 200, "/readyz": 200}, log.read_text()

            # The image's HEALTHCHECK command, run as Docker would (its port made local).
            healthcheck = re.search(
                r"CMD (\[.*\])$", DOCKERFILE.read_text().split("HEALTHCHECK", 1)[1], re.M
            )
            assert healthcheck
            command = [
                part.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
                for part in json.loads(healthcheck[1])
            ]
            assert subprocess.run(command, env=env, timeout=10).returncode == 0

            # /metrics with compose's bearer token; the Prometheus token was provisioned.
            metrics = httpx.get(
                f"{url}/metrics",
                headers={"Authorization": f"Bearer {compose_env[METRICS_TOKEN_SETTING]}"},
                timeout=5,
            )
            assert metrics.status_code == 200
            assert 'environment="production"' in metrics.text
            sd = httpx.get(
                f"{url}/sd/prometheus",
                headers={"Authorization": f"Bearer {compose_env['VIGIL_PROMETHEUS_TOKEN']}"},
                timeout=5,
            )
            assert sd.status_code == 200, sd.text
            assert sd.json() == []
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        output = log.read_text()
        assert "Running upgrade" in output  # `vigil serve` migrated the empty database
        assert 'API token "prometheus" (read) stored from VIGIL_PROMETHEUS_TOKEN' in output
        assert "Finished server process" in output  # a clean shutdown on SIGTERM
        assert (
            compose_env["VIGIL_ADMIN_PASSWORD"] not in output
        )  # the given password is never printed
    finally:
        asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
