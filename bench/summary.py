"""The table at the top of docs/performance.md: every benchmark's goal, result and command.

    .venv/bin/python -m bench.summary

Reads the sections the benchmarks wrote (between their ``bench:NAME`` markers) and rewrites
the ``bench:summary`` section from them: the command each section records, its date, and
its verdict lines (the ``Goal: ...`` line or the ``- ...goal...`` bullets, which carry the
ratio against the bare Litestar endpoint where there is one). ``make bench`` runs it last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench._harness import PERFORMANCE_DOC, markdown_table, rewrite_doc_section

GOALS: Final[dict[str, str]] = {
    "rum_ingest": "beacon POST ≥ 0.85x the bare msgspec endpoint; stored = accepted",
    "overhead": "telemetry on ≥ 0.90x telemetry off (JSON and HTML)",
    "servers": "switch from uvicorn only for ≥ 1.10x on the beacon POST, p99 no worse",
    "vitals_page": "GET /vitals p95 ≤ 150 ms on SQLite (30 days of data)",
    "retention": "longest ingest stall ≤ 100 ms while 1 M rows are purged (SQLite)",
    "pings": "≥ 0.25x the bare endpoint, p99 ≤ 25 ms, runs stored = 2xx (both databases)",
    "alerts": "one tick of 1,000 rules ≤ 1 s on SQLite",
    "pages": "every page's p95 ≤ 150 ms on SQLite (a month of data)",
    "soak": "RSS, open fds and connections flat over 10 min of mixed load",
}
"""The benchmarks in the order ``make bench`` runs them, with the goal each checks."""

_SECTION = re.compile(r"<!-- bench:(\w+):start -->\n(.*?)\n<!-- bench:\1:end -->", re.S)
_COMMAND = re.compile(r"`(\.venv/bin/python -m bench\.[^`]*)`")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


@dataclass(frozen=True, slots=True)
class Summary:
    name: str
    command: str
    date: str
    verdicts: tuple[str, ...]

    @property
    def met(self) -> bool:
        """No verdict line says a goal was missed (the servers bench states a choice)."""
        return all(not _missed(line) for line in self.verdicts)


def _missed(line: str) -> bool:
    lowered = line.lower()
    return "not met" in lowered or "missed" in lowered or "misses" in lowered


def _verdicts(name: str, body: str) -> tuple[str, ...]:
    lines = [line.strip() for line in body.splitlines()]
    if name == "rum_ingest":  # the every-request-logged variant is shown, not checked
        lines = [line for line in lines if "(default)" in line]
    found = [
        line.removeprefix("- ").replace("**", "")
        for line in lines
        if line.startswith("Goal:")
        or (line.startswith("- ") and re.search(r"goal|\((met|missed)\)", line, re.I))
    ]
    if name == "servers":  # no goal: a choice, stated in one paragraph
        found = [line.replace("**", "") for line in lines if "Choice:" in line]
        found = [line[: line.index(" for `vigil serve`")] for line in found]
    return tuple(found)


def read_summaries(doc: Path = PERFORMANCE_DOC) -> list[Summary]:
    """One summary per benchmark section found in ``doc``, in :data:`GOALS` order."""
    sections = dict(_SECTION.findall(doc.read_text(encoding="utf-8")))
    summaries = []
    for name in GOALS:
        body = sections.get(name)
        if body is None:
            continue
        command = _COMMAND.search(body)
        date = _DATE.search(body)
        summaries.append(
            Summary(
                name,
                command.group(1) if command else f".venv/bin/python -m bench.{name}",
                date.group(0) if date else "",
                _verdicts(name, body),
            )
        )
    return summaries


def summary_section(summaries: list[Summary]) -> str:
    rows = [
        (
            f"`{s.name}`",
            GOALS[s.name],
            "<br>".join(s.verdicts) or "(see its section)",
            "chosen" if s.name == "servers" else "met" if s.met else "**missed**",
            s.date,
            f"`{s.command}`",
        )
        for s in summaries
    ]
    table = markdown_table(
        ("benchmark", "goal", "result", "verdict", "measured", "command"), rows, "llllll"
    )
    return (
        "## Summary\n\n"
        "Written by `.venv/bin/python -m bench.summary` from the sections below "
        "(`make bench` runs every benchmark, then this).\n\n" + table
    )


def main() -> None:
    rewrite_doc_section("summary", summary_section(read_summaries()))


if __name__ == "__main__":
    main()
