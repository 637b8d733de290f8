"""Parsing /metrics text: samples kept up to the bound, the rest counted; bad text raises."""

from __future__ import annotations

import pytest

from app.services.scraper import parse_samples

TEXT = """\
# TYPE requests_total counter
requests_total{code="200"} 10
requests_total{code="500"} 2
# TYPE temperature gauge
temperature 21.5
"""


def test_every_sample_is_kept_under_the_bound() -> None:
    parsed = parse_samples(TEXT, max_series=10)
    assert [(s.name, s.labels, s.value) for s in parsed.samples] == [
        ("requests_total", {"code": "200"}, 10.0),
        ("requests_total", {"code": "500"}, 2.0),
        ("temperature", {}, 21.5),
    ]
    assert parsed.dropped == 0


def test_series_over_the_bound_are_counted_not_kept() -> None:
    text = "".join(f'm{{i="{i}"}} {i}\n' for i in range(25))
    parsed = parse_samples(text, max_series=10)
    assert len(parsed.samples) == 10
    assert parsed.dropped == 15
    assert parsed.samples[-1].labels == {"i": "9"}


@pytest.mark.parametrize("text", ["requests_total{code=200} 1\n", "metric not-a-number\n"])
def test_malformed_text_raises(text: str) -> None:
    with pytest.raises(ValueError):
        parse_samples(text, max_series=10)
