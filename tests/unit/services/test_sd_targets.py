"""The Prometheus HTTP SD entry of one service."""

from __future__ import annotations

from typing import Any

from app.services.models import Service
from app.services.sd import is_valid_label_name, target_group


def _service(**fields: Any) -> Service:
    values: dict[str, Any] = {
        "name": "Shop API",
        "base_url": "https://shop.internal",
        "metrics_path": "/metrics",
        "labels": {},
    }
    return Service(**(values | fields))


def test_target_is_host_and_default_port_with_scheme_and_path_labels() -> None:
    assert target_group(_service()) == {
        "targets": ["shop.internal:443"],
        "labels": {
            "__scheme__": "https",
            "__metrics_path__": "/metrics",
            "vigil_service": "Shop API",
        },
    }


def test_explicit_port_path_prefix_and_ipv6() -> None:
    group = target_group(_service(base_url="http://[::1]:9100/app/", metrics_path="prom"))
    assert group is not None
    assert group["targets"] == ["[::1]:9100"]
    assert group["labels"]["__scheme__"] == "http"
    assert group["labels"]["__metrics_path__"] == "/app/prom"


def test_service_labels_are_kept_when_their_names_are_valid() -> None:
    labels = {
        "team": "shop",
        "env": "prod",
        "bad-name": "x",
        "__reserved": "y",
        "vigil_service": "z",
    }
    group = target_group(_service(labels=labels))
    assert group is not None
    assert {k: v for k, v in group["labels"].items() if not k.startswith("__")} == {
        "env": "prod",
        "team": "shop",
        "vigil_service": "Shop API",
    }


def test_service_without_metrics_path_has_no_target() -> None:
    assert target_group(_service(metrics_path=None)) is None


def test_label_name_rules() -> None:
    assert is_valid_label_name("team_1")
    assert is_valid_label_name("_x")
    assert not is_valid_label_name("1team")
    assert not is_valid_label_name("team-name")
    assert not is_valid_label_name("__meta")
    assert not is_valid_label_name("")
