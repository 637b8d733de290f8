"""Debian's Chromium for browser tests: never a browser a test tool downloads itself."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
"""A normal browser user agent: HeadlessChrome is a crawler UA, whose beacons are dropped."""
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--user-agent={DESKTOP_UA}",  # the launch flag covers every navigation
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
"""Screenshots are test artifacts (gitignored); docs/ copies the ones it shows."""

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]
