"""static/vigil-rum.js is exactly what `npm run build:beacon` makes, and stays under 6 KB gzip."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "static" / "vigil-rum.js"
MAX_GZIP_BYTES = 6 * 1024


def test_the_beacon_is_at_most_6_kb_gzipped() -> None:
    size = len(gzip.compress(BUILT.read_bytes(), compresslevel=9))

    assert size <= MAX_GZIP_BYTES, f"vigil-rum.js is {size} bytes gzipped"


def test_the_beacon_bundles_web_vitals_and_reads_its_own_tag() -> None:
    source = BUILT.read_text()

    assert source.startswith("/* vigil-rum.js:")
    assert "bundles web-vitals 6." in source.splitlines()[0]
    for needle in ("data-endpoint", "data-sample", "sendBeacon", "keepalive", '"omit"'):
        assert needle in source


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs Node.js and npm")
def test_rebuilding_the_beacon_gives_the_committed_file(tmp_path: Path) -> None:
    assert (ROOT / "node_modules" / "esbuild").exists(), "run `npm ci` (make test does)"
    outfile = tmp_path / "vigil-rum.js"

    subprocess.run(
        ["npm", "run", "--silent", "build:beacon", "--", "--outfile", str(outfile)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )

    assert outfile.read_bytes() == BUILT.read_bytes(), (
        "static/vigil-rum.js is stale: run `npm run build:beacon` and commit it"
    )
