"""Parsing a ping's URL suffix, run id and body."""

from __future__ import annotations

import pytest

from app.tasks.pings import PingAction, PingError, check_rid, log_text, parse_action


@pytest.mark.parametrize(
    ("rest", "action"),
    [
        ("backup", PingAction("backup", "success")),
        ("backup/", PingAction("backup", "success")),
        ("backup/start", PingAction("backup", "start")),
        ("backup/fail", PingAction("backup", "fail")),
        ("backup/log", PingAction("backup", "log")),
        ("backup/0", PingAction("backup", "success", exit_code=0)),
        ("backup/1", PingAction("backup", "fail", exit_code=1)),
        ("backup/255", PingAction("backup", "fail", exit_code=255)),
        ("db.dump-nightly_2", PingAction("db.dump-nightly_2", "success")),
    ],
)
def test_parse_action_reads_the_task_and_what_it_reports(rest: str, action: PingAction) -> None:
    assert parse_action(rest) == action


@pytest.mark.parametrize("rest", ["", "backup/256", "backup/-1", "backup/abc", "a/b/c", "_x"])
def test_parse_action_refuses_bad_suffixes_and_names(rest: str) -> None:
    with pytest.raises(PingError):
        parse_action(rest)


def test_rid_is_optional_and_checked() -> None:
    assert check_rid(None) is None
    assert check_rid("") is None
    assert (
        check_rid("3f2a9c1e-8d1b-4c7e-9a0b-5e6f7a8b9c0d") == "3f2a9c1e-8d1b-4c7e-9a0b-5e6f7a8b9c0d"
    )
    with pytest.raises(PingError, match="rid"):
        check_rid("x" * 65)


def test_log_text_keeps_a_body_of_exactly_the_limit() -> None:
    assert log_text(b"a" * 100, max_bytes=100) == ("a" * 100, False)


def test_log_text_cuts_and_flags_a_longer_body_without_a_broken_character() -> None:
    text, truncated = log_text("é".encode() * 51, max_bytes=101)  # 102 bytes, cut inside a char
    assert (text, truncated) == ("é" * 50, True)


def test_log_text_redacts_secrets() -> None:
    text, _ = log_text(b"token=abc123 ok", max_bytes=100)
    assert "abc123" not in text
