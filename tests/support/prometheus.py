"""Debian's ``prometheus`` binary on a loopback port, for the tests that query a real one."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.server import free_port, stop_process

PROMETHEUS = "/usr/bin/prometheus"
NEEDS_PROMETHEUS = pytest.mark.skipif(
    shutil.which(PROMETHEUS) is None, reason="needs Debian's prometheus package"
)


@contextmanager
def running_prometheus(folder: Path, config: str, *, port: int = 0) -> Iterator[str]:
    """Prometheus with ``config`` (YAML) on ``port`` (a free one when 0), its files and
    ``prometheus.log`` in ``folder``; yields its URL and stops it on exit."""
    port = port or free_port()
    config_path = folder / "prometheus.yml"
    config_path.write_text(config)
    with (folder / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)
