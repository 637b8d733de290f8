"""Every metric the Grafana dashboards and the Prometheus rules use exists in a live scrape."""

from __future__ import annotations

import re

from tests.deploy.conftest import LiveVigil
from tests.deploy.queries import dashboard_queries, rule_queries

SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")
"""A metric selector: the shipped expressions give every metric a label matcher."""
LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
MADE_BY_PROMETHEUS = {"up", "ALERTS"}
"""Series Prometheus writes itself (scrape health, alert state), not scraped from Vigil."""


def metric_names(expr: str) -> set[str]:
    names = set(SELECTOR.findall(expr)) | set(LABEL_VALUES.findall(expr))
    # A metric written without a label matcher would slip past SELECTOR: refuse those.
    bare = set(re.findall(r"\b((?:vigil|process)_[a-z0-9_]+)\b(?!\s*\{)", expr)) - names
    assert not bare, f"give {bare} a label matcher in: {expr}"
    return names


def scraped_names(text: str) -> set[str]:
    """Sample names a scrape exposes, including families without samples yet (their
    ``# TYPE`` line): counters as ``_total``, histograms as ``_bucket``/``_sum``/``_count``."""
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M):
        base = family.removesuffix("_total")
        names |= {base + suffix for suffix in suffixes.get(kind, ("",))}
    return names - {""}


def test_every_dashboard_and_rule_metric_is_exported_by_vigil(live_vigil: LiveVigil) -> None:
    used = {
        (source, name)
        for source, exprs in (dashboard_queries() | rule_queries()).items()
        for expr in exprs
        for name in metric_names(expr)
    }
    assert len({name for _, name in used}) >= 25  # the extraction found the queries
    exported = scraped_names(live_vigil.scrape())
    missing = sorted(
        f"{name} ({source})" for source, name in used if name not in exported | MADE_BY_PROMETHEUS
    )
    assert not missing, f"not in Vigil's /metrics: {missing}"


def test_the_check_notices_a_misspelt_metric() -> None:
    exported = {"vigil_http_requests_total"}
    assert metric_names('rate(vigil_http_request_total{job="vigil"}[5m])') - exported
    assert scraped_names("# TYPE vigil_x counter\n") == {"vigil_x_total"}
