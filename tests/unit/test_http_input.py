"""Shared request input checks: where a NUL hides in decoded JSON, and the id bounds."""

from __future__ import annotations

import pytest

from app.http_input import MAX_BIG_ID, MAX_ID, nul_at


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"name": "ok", "labels": {"team": "web"}}, None),
        ("a\x00b", "$"),
        ({"name": "x\x00"}, "$.name"),
        ({"matchers": [{"op": "="}, {"value": "\x00"}]}, "$.matchers[1].value"),
        ({"labels": {"te\x00am": "web"}}, "$.labels"),
        ([1, 2.5, None, True, ["deep", ["\x00"]]], "$[4][1][0]"),
    ],
)
def test_nul_at_names_the_first_string_holding_a_nul(value: object, where: str | None) -> None:
    assert nul_at(value) == where


def test_nul_at_walks_deep_values_without_recursing() -> None:
    value: object = "\x00"
    for _ in range(10_000):
        value = [value]
    assert nul_at(value) == "$" + "[0]" * 10_000


def test_id_bounds_are_what_the_id_columns_hold() -> None:
    assert MAX_ID == 2_147_483_647  # PostgreSQL integer
    assert MAX_BIG_ID == 9_223_372_036_854_775_807  # bigint, SQLite's INTEGER
