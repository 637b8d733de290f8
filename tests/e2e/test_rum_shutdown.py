"""A real `vigil serve`: beacons accepted just before SIGTERM are in the database afterwards."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.server import RunningServer, vigil_server

KEY = "e2e0123456789abc"
ORIGIN = "https://shop.example.com"
HEADERS = {
    "Origin": ORIGIN,
    "Content-Type": "text/plain;charset=UTF-8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36",
}
BEACON = json.dumps(
    {
        "page": "/products/42?ref=mail",
        "vw": 1280,
        "events": [{"name": "LCP", "value": 1800.0}, {"name": "CLS", "value": 0.02}],
    }
).encode()
BEACONS = 200


def _add_site(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO rum_sites (name, key, allowed_origins, sample_rate, page_cap, created_at)"
            " VALUES ('Shop', ?, ?, 1.0, 500, '2026-11-01 00:00:00.000000')",
            (KEY, json.dumps([ORIGIN])),
        )


def _stored_events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COALESCE(SUM(n), 0) FROM rum_vitals_daily").fetchone()[0])


def _post_until_known(server: RunningServer, timeout: float = 15) -> None:
    """The site cache reloads on a miss at most every few seconds: wait for it."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.post(f"{server.url}/rum/v1/{KEY}", content=BEACON, headers=HEADERS)
        if response.status_code == 202:
            return
        assert response.status_code == 404, response.text
        assert time.monotonic() < deadline, "the new site never became known"
        time.sleep(0.5)


def test_events_in_the_accumulator_are_written_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "vigil.db"
    env = {"VIGIL_RUM__FLUSH_INTERVAL_SECONDS": "3600"}  # only the shutdown flush writes
    with vigil_server(tmp_path, env=env) as server:
        _add_site(db)
        _post_until_known(server)
        with httpx.Client(base_url=server.url) as client:
            statuses = [
                client.post(f"/rum/v1/{KEY}", content=BEACON, headers=HEADERS).status_code
                for _ in range(BEACONS - 1)
            ]
        assert statuses == [202] * (BEACONS - 1)
        assert _stored_events(db) == 0
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert _stored_events(db) == 2 * BEACONS


def _chunks() -> Iterator[bytes]:
    for _ in range(100):
        yield b" " * 1024


def test_a_chunked_body_over_the_limit_is_refused_while_reading(tmp_path: Path) -> None:
    with vigil_server(tmp_path) as server:
        _add_site(tmp_path / "vigil.db")
        _post_until_known(server)
        response = httpx.post(f"{server.url}/rum/v1/{KEY}", content=_chunks(), headers=HEADERS)
        assert response.status_code == 413
        assert "set-cookie" not in response.headers
