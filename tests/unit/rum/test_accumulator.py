"""The in-memory accumulator: counting, page cap, flush and keeping failed batches."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import pytest

from app.rum.accumulator import Accumulator
from app.rum.deltas import OTHER_PAGE, VitalsDelta
from app.rum.histogram import BUCKETS, bucket_index

DAY = datetime.date(2026, 11, 2)
NOW = datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.UTC)


def add(acc: Accumulator, metric: str, value: float, page: str = "/", site_id: int = 1) -> None:
    acc.add(site_id=site_id, day=DAY, page=page, device="mobile", metric=metric, value=value)


class Writer:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.batches: list[list[VitalsDelta]] = []

    async def __call__(self, deltas: Sequence[VitalsDelta], *, now: datetime.datetime) -> None:
        if self.fail:
            raise ConnectionError("database down")
        self.batches.append(list(deltas))


def test_events_of_one_row_add_up_with_server_side_ratings() -> None:
    acc = Accumulator()
    for value in (1000.0, 3000.0, 5000.0, 5000.0):
        add(acc, "LCP", value)
    [row] = acc.take()
    assert (row.n, row.good, row.ni, row.poor, row.value_sum) == (4, 1, 1, 2, 14000.0)
    assert len(row.buckets) == BUCKETS
    assert sum(row.buckets) == 4
    assert row.buckets[bucket_index("LCP", 5000.0)] == 2


def test_each_key_part_makes_its_own_row() -> None:
    acc = Accumulator()
    add(acc, "LCP", 1.0)
    add(acc, "CLS", 0.01)
    add(acc, "LCP", 1.0, page="/a")
    add(acc, "LCP", 1.0, site_id=2)
    acc.add(site_id=1, day=DAY, page="/", device="desktop", metric="LCP", value=1.0)
    assert len(acc.take()) == 5


def test_pages_beyond_the_daily_cap_count_as_other() -> None:
    acc = Accumulator()
    admitted = [acc.admit_page(site_id=1, day=DAY, page=f"/p{i}", cap=2) for i in range(4)]
    assert admitted == ["/p0", "/p1", OTHER_PAGE, OTHER_PAGE]
    assert acc.admit_page(site_id=1, day=DAY, page="/p1", cap=2) == "/p1"
    assert acc.admit_page(site_id=2, day=DAY, page="/p3", cap=2) == "/p3"
    tomorrow = DAY + datetime.timedelta(days=1)
    assert acc.admit_page(site_id=1, day=tomorrow, page="/p3", cap=2) == "/p3"


async def test_flush_hands_everything_over_once() -> None:
    acc = Accumulator()
    add(acc, "LCP", 100.0)
    add(acc, "INP", 100.0)
    writer = Writer()
    assert await acc.flush(writer, now=NOW) == 2
    assert await acc.flush(writer, now=NOW) == 0
    assert len(writer.batches) == 1
    assert acc.pending_events == 0


async def test_a_failed_flush_keeps_its_deltas_for_the_next_one() -> None:
    acc = Accumulator()
    add(acc, "LCP", 100.0)
    assert await acc.flush(Writer(fail=True), now=NOW) == 0
    assert acc.pending_events == 1
    add(acc, "LCP", 5000.0)
    add(acc, "CLS", 0.3)
    writer = Writer()
    assert await acc.flush(writer, now=NOW) == 3
    rows = {d.metric: d for d in writer.batches[0]}
    assert (rows["LCP"].n, rows["LCP"].good, rows["LCP"].poor) == (2, 1, 1)
    assert rows["CLS"].poor == 1


async def test_kept_rows_are_capped_and_the_rest_reported() -> None:
    dropped: list[VitalsDelta] = []
    acc = Accumulator(max_retained_rows=2, on_dropped=dropped.append)
    for page in ("/a", "/b", "/c"):
        add(acc, "LCP", 100.0, page=page)
    await acc.flush(Writer(fail=True), now=NOW)
    assert acc.pending_events == 2
    assert [d.n for d in dropped] == [1]


@pytest.mark.parametrize("metric", ["LCP", "INP", "CLS", "FCP", "TTFB"])
def test_every_metric_can_be_counted(metric: str) -> None:
    acc = Accumulator()
    add(acc, metric, 0.0)
    [row] = acc.take()
    assert row.good == 1
