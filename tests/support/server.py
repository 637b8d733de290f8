"""Run `vigil serve` as a real process on a free loopback port, as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def vigil_server(
    tmp_path: Path, *, env: dict[str, str] | None = None, timeout: float = 30
) -> Iterator[RunningServer]:
    """Start `python -m app serve`; stop it with SIGTERM and check it exits by itself."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    full_env = (
        clean
        | {
            "VIGIL_SERVER__PORT": str(port),
            "VIGIL_SERVER__PUBLIC_URL": f"http://127.0.0.1:{port}",
            "VIGIL_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}",
            "VIGIL_TELEMETRY__TRACING__ENABLED": "false",
        }
        | (env or {})
    )
    log_path = tmp_path / f"vigil-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_healthy(server, timeout)
        yield server
    finally:
        if process.poll() is None:
            stop_process(process, timeout=15)


def stop_process(process: subprocess.Popen[Any], *, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not exited ``timeout`` seconds later."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_healthy(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"vigil exited early:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"vigil did not become healthy in {timeout}s:\n{server.output()}")
