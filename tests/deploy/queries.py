"""The PromQL the deployment ships: Grafana panel and variable queries, rule expressions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from tests.deploy.compose import GRAFANA_DASHBOARDS, PROMETHEUS_DIR


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def dashboard_queries() -> dict[str, list[str]]:
    """Per dashboard file: every panel target's ``expr`` and every variable's query."""
    queries: dict[str, list[str]] = {}
    for path in sorted(GRAFANA_DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        exprs = [v for k, v in _walk(board["panels"]) if k == "expr"]
        exprs += [v["query"]["query"] for v in board["templating"]["list"]]
        queries[path.name] = exprs
    return queries


def rule_queries() -> dict[str, list[str]]:
    return {
        path.name: [
            rule["expr"]
            for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]
        ]
        for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
    }
