"""Pure row building of the aggregate writer: merging deltas, window fan-out, build rows."""

from __future__ import annotations

from datetime import date, timedelta

from app.rum.aggregates import (
    build_parts,
    build_rows,
    daily_rows,
    site_rows,
    stale_parts,
    window_ends,
    window_rows,
)
from app.rum.deltas import VitalsDelta
from app.rum.histogram import BUCKETS
from app.rum.models import COUNTER_COLUMNS

DAY = date(2026, 11, 20)


def delta(page: str = "/", device: str = "mobile", n: int = 1, day: date = DAY) -> VitalsDelta:
    d = VitalsDelta.empty(site_id=1, day=day, page=page, device=device, metric="LCP")
    d.n = d.good = n
    d.value_sum = 100.0 * n
    d.buckets[10] = n
    return d


def test_daily_rows_merge_deltas_of_the_same_key() -> None:
    rows = daily_rows([delta(n=1), delta(n=2), delta(page="/b")])
    assert len(rows) == 2
    first = rows[0]
    assert first[:5] == [1, DAY, "/", "mobile", "LCP"]
    assert first[5:10] == [3, 3, 0, 0, 300.0]
    assert len(first) == 5 + len(COUNTER_COLUMNS)
    assert first[5 + 5 + 10] == 3  # b10


def test_site_rows_merge_pages() -> None:
    rows = site_rows([delta(page="/a"), delta(page="/b"), delta(device="desktop")])
    assert sorted((row[2], row[4]) for row in rows) == [("desktop", 1), ("mobile", 2)]


def test_window_rows_fan_out_to_every_range_for_the_device_and_all() -> None:
    rows = window_rows([delta(device="mobile"), delta(device="tablet")])
    keys = sorted((row[2], row[3]) for row in rows)
    assert keys == sorted(
        [(r, d) for r in (1, 7, 30) for d in ("mobile", "tablet")]
        + [(r, "all") for r in (1, 7, 30)]
    )
    assert all(row[6] == (2 if row[3] == "all" else 1) for row in rows)
    assert {row[1] for row in rows} == {DAY}


def test_window_ends_add_built_windows_that_cover_the_day() -> None:
    built = [DAY + timedelta(days=d) for d in (-1, 1, 6, 7, 29, 30)]
    assert window_ends(DAY, 1, built) == [DAY]
    assert window_ends(DAY, 7, built) == [DAY, DAY + timedelta(days=1), DAY + timedelta(days=6)]
    assert window_ends(DAY, 30, built)[-1] == DAY + timedelta(days=29)


def test_a_late_delta_goes_to_built_later_windows() -> None:
    rows = window_rows([delta(device="mobile")], built={1: [DAY + timedelta(days=1)]})
    ends = sorted({(row[1], row[2]) for row in rows})
    assert ends == [
        (DAY, 1),
        (DAY, 7),
        (DAY, 30),
        (DAY + timedelta(days=1), 7),
        (DAY + timedelta(days=1), 30),
    ]


def test_build_rows_put_recent_days_in_both_ranges_and_older_in_30_days() -> None:
    counters = [2, 2, 0, 0, 10.0] + [0] * BUCKETS
    sums = [
        ("/", "mobile", "LCP", True, *counters),
        ("/", "tablet", "LCP", True, *counters),
        ("/", "mobile", "LCP", False, *counters),
    ]
    rows = {(row[2], row[3]): row for row in build_rows(site_id=1, window_end=DAY, sums=sums)}
    assert {key: row[6] for key, row in rows.items()} == {
        (7, "mobile"): 2,
        (7, "tablet"): 2,
        (7, "all"): 4,
        (30, "mobile"): 4,
        (30, "tablet"): 2,
        (30, "all"): 6,
    }
    assert rows[(30, "all")][10] == 30.0


def test_build_parts_cover_the_29_days_before_the_window_end_once() -> None:
    parts = build_parts(DAY)
    days = [
        part.first + timedelta(days=offset)
        for part in parts
        for offset in range((part.last - part.first).days + 1)
    ]
    assert sorted(days) == [DAY - timedelta(days=d) for d in range(29, 0, -1)]
    recent = {
        day for part in parts if part.recent for day in days if part.first <= day <= part.last
    }
    assert recent == {DAY - timedelta(days=d) for d in range(1, 7)}
    assert parts[0].first == parts[0].last == DAY - timedelta(days=1)  # yesterday alone


def test_stale_parts_are_those_with_a_changed_day() -> None:
    yesterday, week, month = build_parts(DAY)
    read = {
        yesterday: {DAY - timedelta(days=1): (20, 300)},
        week: {DAY - timedelta(days=3): (20, 400)},
        month: {},
    }
    now = {
        DAY - timedelta(days=1): (20, 301),  # a late delta for yesterday
        DAY - timedelta(days=3): (20, 400),
        DAY - timedelta(days=40): (1, 1),  # before every part: ignored
    }
    assert stale_parts(read, now) == [yesterday]
    now[DAY - timedelta(days=20)] = (1, 5)  # a first row on a day of the month part
    assert stale_parts(read, now) == [yesterday, month]
