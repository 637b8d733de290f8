"""The channel form: typed fields per kind, matcher lines, which field an error is about."""

from __future__ import annotations

import pytest

from app.notify.channels import ChannelError
from app.notify.views import ChannelForm, error_field


def test_email_form_types_the_port_and_splits_the_recipients() -> None:
    form = ChannelForm.parse(
        {
            "name": ["mail"],
            "kind": ["email"],
            "enabled": ["on"],
            "severities": ["critical"],
            "config.host": ["smtp.example.com"],
            "config.port": ["465"],
            "config.security": ["tls"],
            "config.from_address": ["vigil@example.com"],
            "config.to_addresses": ["a@example.com\nb@example.com, c@example.com"],
            "config.username": [""],
            "config.password": [""],
        }
    )
    assert form.enabled
    assert form.severities == ["critical"]
    assert form.config_input() == {
        "host": "smtp.example.com",
        "port": 465,
        "security": "tls",
        "password": "",
        "from_address": "vigil@example.com",
        "to_addresses": ["a@example.com", "b@example.com", "c@example.com"],
    }


def test_matcher_lines_become_matchers_and_a_bad_line_is_named() -> None:
    form = ChannelForm(label_matchers='team=~"ops|sre"\n\nenv != dev\n')
    assert form.matchers_input() == [
        {"name": "team", "op": "=~", "value": "ops|sre"},
        {"name": "env", "op": "!=", "value": "dev"},
    ]
    with pytest.raises(ChannelError, match="line 2"):
        ChannelForm(label_matchers="team=ops\nteam ops").matchers_input()


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("config.url: expected an http:// or https:// URL", "config.url"),
        ("config.to_addresses[1]: expected an e-mail address", "config.to_addresses"),
        ("label_matchers[0].value: invalid regular expression", "label_matchers"),
        ("name: a channel named 'x' exists", "name"),
        ("config: object contains unknown field `x`", "config"),
        ("Something else", None),
    ],
)
def test_error_field_finds_the_input(message: str, field: str | None) -> None:
    assert error_field(message) == field
