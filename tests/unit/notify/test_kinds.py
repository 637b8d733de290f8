"""Config parsing, masking and secret merging of the channel kinds."""

from __future__ import annotations

import pytest

from app.notify.kinds import ConfigProblem, masked, merge_secrets, parse_config


def test_secrets_and_tokens_in_urls_are_masked() -> None:
    assert masked("webhook", {"url": "https://h.example.com/in?token=abc", "secret": "x" * 16}) == {
        "url": "https://h.example.com/in?********",
        "secret": "********",
    }
    assert masked("slack", {"webhook_url": "https://hooks.slack.com/services/T/B/XYZ"}) == {
        "webhook_url": "https://hooks.slack.com/********"
    }
    shown = masked("alertmanager", {"url": "http://am:pw@am.example.com:9093", "bearer_token": ""})
    assert shown == {"url": "http://am:********@am.example.com:9093", "bearer_token": ""}


def test_secrets_left_out_or_masked_are_kept_from_the_current_config() -> None:
    current = {"url": "https://a.example.com", "secret": "the-old-secret-123"}
    for given in (
        {"url": "https://b.example.com"},
        {"url": "x", "secret": ""},
        {"url": "x", "secret": "********"},
    ):
        assert merge_secrets("webhook", given, current)["secret"] == "the-old-secret-123"
    assert merge_secrets("webhook", {"secret": "a-new-secret-4567"}, current)["secret"] == (
        "a-new-secret-4567"
    )


def test_parse_config_explains_the_field() -> None:
    with pytest.raises(ConfigProblem, match=r"^port: expected `int` <= 65535$"):
        parse_config(
            "email",
            {"host": "h", "port": 70000, "from_address": "a@b.c", "to_addresses": ["a@b.c"]},
        )
    with pytest.raises(ConfigProblem, match=r"^kind: expected one of"):
        parse_config("pager", {})
