"""The benchmark modules import, parse wrk's output and rewrite only their doc section
(no timing here: the benchmarks themselves run with `python -m bench.<name>`)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from bench import _harness, overhead, servers, soak, summary
from bench._harness import AsgiRequest, BenchError, parse_wrk, rewrite_doc_section, time_asgi
from bench.apps import BEACON_BODY, bare_app

WRK_OUTPUT = """\
Running 4s test @ http://127.0.0.1:41234/healthz
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.02ms  24.31ms   92.11%
    Req/Sec    10.41k   512.33    11.02k    80.00%
  Latency Distribution
     50%    2.95ms
     75%    3.20ms
     90%    3.61ms
     99%    7.80ms
  41423 requests in 4.00s, 6.52MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 17
Requests/sec:  10355.12
Transfer/sec:      1.63MB
"""


def test_wrk_output_is_parsed() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert result.requests_per_second == pytest.approx(10355.12)
    assert result.requests == 41423
    assert result.p50_ms == pytest.approx(2.95)
    assert result.p99_ms == pytest.approx(7.80)
    assert result.non_2xx == 17
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 1}
    assert result.failed


def test_wrk_latency_units_are_converted_to_ms() -> None:
    text = WRK_OUTPUT.replace("2.95ms", "950.00us").replace("7.80ms", "1.20s")
    text = text.replace("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "")
    text = text.replace("  Non-2xx or 3xx responses: 17\n", "")
    result = parse_wrk(text)
    assert result.p50_ms == pytest.approx(0.95)
    assert result.p99_ms == pytest.approx(1200)
    assert not result.failed


def test_wrk_output_without_latency_distribution_is_refused() -> None:
    with pytest.raises(BenchError, match="--latency"):
        parse_wrk(WRK_OUTPUT.split("  Latency Distribution")[0])


def test_doc_section_is_replaced_between_its_markers_only(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    rewrite_doc_section("one", "alpha figures", doc)
    rewrite_doc_section("two", "beta figures", doc)
    rewrite_doc_section("one", "alpha figures again", doc)
    text = doc.read_text()
    assert text.startswith("# Performance")
    assert text.count("alpha figures") == 1
    assert text.index("alpha figures again") < text.index("beta figures")


def test_wrk_script_sends_the_exact_body(tmp_path: Path) -> None:
    script = _harness.write_wrk_script(
        tmp_path / "post.lua", method="POST", body=BEACON_BODY, headers={"Content-Type": "x/y"}
    )
    text = script.read_text()
    assert 'wrk.method = "POST"' in text
    assert "\\034site\\034" in text  # quotes escaped as decimal bytes
    assert len(BEACON_BODY) == 317


def test_bare_app_answers_in_process() -> None:
    requests = {
        "json": AsgiRequest("GET", "/json"),
        "html": AsgiRequest("GET", "/html"),
        "beacon": AsgiRequest("POST", "/beacon", BEACON_BODY),
    }
    timings = asyncio.run(time_asgi(bare_app, requests, calls=5, rounds=2, warmup=1))
    assert {name: len(values) for name, values in timings.items()} == {
        "json": 2,
        "html": 2,
        "beacon": 2,
    }


def test_bad_beacon_is_not_counted_as_success() -> None:
    bad = {"beacon": AsgiRequest("POST", "/beacon", json.dumps({"site": 1}).encode())}
    with pytest.raises(BenchError, match="400"):
        asyncio.run(time_asgi(bare_app, bad, calls=1, rounds=1, warmup=1))


def test_cli_bounds_refuse_unbounded_runs() -> None:
    with pytest.raises(SystemExit):
        overhead.parse_args(["--duration", "600"])
    with pytest.raises(SystemExit):
        servers.parse_args(["--connections", "0"])
    assert overhead.parse_args([]).duration * 3 * 3 * 2 <= 180


def _samples(rss_mb: list[float], fds: list[int]) -> list[soak.Sample]:
    return [
        soak.Sample(at=i * 5.0, rss_kb=int(r * 1024), fds=f, tcp={"ESTABLISHED": 4, "LISTEN": 1})
        for i, (r, f) in enumerate(zip(rss_mb, fds, strict=True))
    ]


def test_soak_samples_a_live_process_from_proc() -> None:
    sample = soak.sample_process(os.getpid(), at=0.0)
    assert sample.rss_kb > 1000
    assert sample.fds >= 3  # stdin, stdout, stderr at least


def test_soak_verdict_is_flat_for_noise_and_not_for_growth() -> None:
    steady = _samples([120 + (i % 3) for i in range(40)], [30 + (i % 4) for i in range(40)])
    assert all(check.flat for check in soak.flatness(steady, duration=200))
    leaking = _samples([100 + i for i in range(40)], [30 + i for i in range(40)])
    verdicts = {check.name: check.flat for check in soak.flatness(leaking, duration=200)}
    assert verdicts == {"RSS (MB)": False, "open fds": False, "TCP established": True}
    assert soak.rss_slope_mb_per_minute(leaking, duration=200) == pytest.approx(12, rel=0.01)


def test_soak_report_goes_to_its_doc_section(tmp_path: Path) -> None:
    args = soak.parse_args(["--minutes", "1"])
    load = soak.Load("http://127.0.0.1:1", site_id=1, service_id=1, beacons_per_second=5)
    load.events_accepted = 10
    result = soak.Result(
        samples=_samples([120.0] * 12, [30] * 12),
        load=load,
        duration=60,
        counts={"events": 10, "task_runs": 0, "service_checks": 0, "alert_transitions": 0},
        load_start=(0.1, 0.1),
        load_end=(0.2, 0.1),
    )
    body = soak.report(args, result, started="2026-01-01 00:00 UTC")
    assert "**met**" in body
    assert "none lost" in body
    doc = tmp_path / "performance.md"
    rewrite_doc_section("soak", body, doc)
    assert "<!-- bench:soak:start -->" in doc.read_text()


def test_soak_cli_refuses_unbounded_runs() -> None:
    assert soak.parse_args([]).minutes == 10
    with pytest.raises(SystemExit):
        soak.parse_args(["--minutes", "600"])
    with pytest.raises(SystemExit):
        soak.parse_args(["--beacons-per-second", "0"])


def test_summary_reads_each_sections_command_date_and_verdicts(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    rewrite_doc_section(
        "pings",
        "`.venv/bin/python -m bench.pings --duration 5` — 2026-12-01 10:00 UTC\n\n"
        "| table |\n- vigil, SQLite: 0.50x bare (meets the 0.25x goal)\n"
        "- vigil, PostgreSQL: 0.20x bare (misses the 0.25x goal)\n",
        doc,
    )
    rewrite_doc_section(
        "pages", "Command: `.venv/bin/python -m bench.pages`  \nGoal: p95 — **met** (67 ms).", doc
    )

    found = {s.name: s for s in summary.read_summaries(doc)}

    assert found["pings"].command == ".venv/bin/python -m bench.pings --duration 5"
    assert found["pings"].date == "2026-12-01 10:00 UTC"
    assert len(found["pings"].verdicts) == 2
    assert not found["pings"].met
    assert found["pages"].verdicts == ("Goal: p95 — met (67 ms).",)
    assert found["pages"].met
    table = summary.summary_section(list(found.values()))
    assert "**missed**" in table
    assert "| met |" in table
