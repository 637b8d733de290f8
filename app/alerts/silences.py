"""Label matchers and silences: which alert series' notifications are held back now.

Matchers work as in Prometheus and Alertmanager: ``=`` / ``!=`` compare strings, ``=~`` /
``!~`` match a regular expression against the whole value (fully anchored), and a label
that is absent counts as the empty string::

    >>> parse_matcher('severity=~"crit.*"').matches({"severity": "critical"})
    True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal, Protocol

import msgspec

MatchOp = Literal["=", "!=", "=~", "!~"]
MATCH_OPS: Final[tuple[MatchOp, ...]] = ("=", "!=", "=~", "!~")
LABEL_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MATCHER: Final = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$", re.DOTALL
)
MAX_VALUE_LENGTH: Final = 1000


class MatcherError(ValueError):
    """A matcher that cannot be used; the message says why."""


class Matcher(msgspec.Struct, frozen=True, kw_only=True):
    """``name op value``, e.g. ``service!="billing"``."""

    name: str
    op: MatchOp
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when ``labels`` satisfy this matcher (absent label = empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = _compiled(self.value).fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{_quote(self.value)}"


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_matcher(name: str, op: str, value: str) -> Matcher:
    """A validated matcher; raises :class:`MatcherError`."""
    if not LABEL_NAME.match(name):
        raise MatcherError(f"invalid label name {name!r}")
    if op not in MATCH_OPS:
        raise MatcherError(f"unknown operator {op!r}: use one of {', '.join(MATCH_OPS)}")
    if len(value) > MAX_VALUE_LENGTH:
        raise MatcherError(f"value longer than {MAX_VALUE_LENGTH} characters")
    if op in ("=~", "!~"):
        try:
            _compiled(value)
        except re.error as exc:
            raise MatcherError(f"invalid regular expression {value!r}: {exc}") from None
    return Matcher(name=name, op=op, value=value)


def parse_matcher(text: str) -> Matcher:
    """``name=value``, ``name!="value"``, ``name=~"re.*"``: the value may be double-quoted."""
    match = _MATCHER.match(text)
    if match is None:
        raise MatcherError(
            f"expected name=value, name!=value, name=~regex or name!~regex, got {text!r}"
        )
    return make_matcher(match["name"], match["op"], _unquote(match["value"]))


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = msgspec.json.decode(value.encode())
        except msgspec.DecodeError:
            raise MatcherError(f"badly quoted value {value}") from None
        if isinstance(decoded, str):
            return decoded
    return value


def matchers_from_json(raw: Any) -> list[Matcher]:
    """Matchers from stored / posted JSON ``[{"name", "op", "value"}, ...]``."""
    if not isinstance(raw, list):
        raise MatcherError("expected a list of matchers")
    matchers = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) for key in ("name", "op", "value")
        ):
            raise MatcherError(f"matcher {index + 1}: expected name, op and value strings")
        try:
            matchers.append(make_matcher(item["name"], item["op"], item["value"]))
        except MatcherError as exc:
            raise MatcherError(f"matcher {index + 1}: {exc}") from None
    return matchers


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (no matchers: everything)."""
    return all(matcher.matches(labels) for matcher in matchers)


class SilenceLike(Protocol):
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def matchers(self) -> Sequence[Any]: ...


class ActiveSilence(msgspec.Struct, frozen=True):
    """A silence's parsed matchers, for checking many series."""

    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime


def compile_silences(silences: Iterable[SilenceLike]) -> list[ActiveSilence]:
    """Parse stored silences once; stored matchers that no longer parse are skipped."""
    compiled = []
    for silence in silences:
        try:
            matchers = tuple(
                m if isinstance(m, Matcher) else make_matcher(m["name"], m["op"], m["value"])
                for m in silence.matchers
            )
        except (MatcherError, KeyError, TypeError):
            continue
        if matchers:  # a silence without matchers would silence everything: never stored
            compiled.append(ActiveSilence(matchers, silence.starts_at, silence.ends_at))
    return compiled


def silenced(
    labels: Mapping[str, str], silences: Iterable[SilenceLike | ActiveSilence], now: datetime
) -> bool:
    """True when a silence active at ``now`` matches ``labels``."""
    for silence in silences:
        if not silence.starts_at <= now < silence.ends_at:
            continue
        active = silence if isinstance(silence, ActiveSilence) else None
        if active is None:
            parsed = compile_silences([silence])
            if not parsed:
                continue
            active = parsed[0]
        if matches_all(active.matchers, labels):
            return True
    return False
