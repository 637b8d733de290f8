"""Web Vitals deltas the benchmarks seed through ``write_deltas``."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date

from app.rum.deltas import DEVICES, VitalsDelta
from app.rum.histogram import BUCKETS, LOW, METRICS, bucket_bounds

TYPICAL = {"LCP": 2400.0, "INP": 180.0, "CLS": 0.08, "FCP": 1600.0, "TTFB": 600.0}


def _bucket(metric: str, value: float) -> int:
    return 1 + int(math.log(value / LOW[metric]) / math.log(1.1))


def day_deltas(
    rng: random.Random, site_id: int, day: date, pages: Sequence[str]
) -> list[VitalsDelta]:
    """One day of a site: every page x metric x device, 5-25 samples around a typical value
    (a different one for each of ten pages in turn)."""
    deltas = []
    for page_index, page in enumerate(pages):
        for metric in METRICS:
            centre = _bucket(metric, TYPICAL[metric] * (0.5 + (page_index % 10) / 5))
            for device in DEVICES:
                delta = VitalsDelta.empty(
                    site_id=site_id, day=day, page=page, device=device, metric=metric
                )
                for _ in range(rng.randint(5, 25)):
                    index = min(BUCKETS - 1, max(0, centre + rng.randint(-6, 6)))
                    lower, upper = bucket_bounds(metric, index)
                    delta.count(lower if math.isinf(upper) else (lower + upper) / 2)
                deltas.append(delta)
    return deltas
