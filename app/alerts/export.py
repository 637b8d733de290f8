"""Rule files: export rules as YAML and read them back (see ``docs/rule-files.md``).

Two formats:

- ``prometheus``: a Prometheus rule file (``groups: - name: vigil, rules: [...]``) holding the
  PromQL rules; ``expr`` is the query with the comparison and threshold appended
  (``(<query>) > 0.05``), ``severity`` is a label. ``promtool check rules`` accepts it.
  Vigil-only fields (no-data policy, enabled, channels) are not in it; an import gives them
  their defaults.
- ``vigil``: every rule with every field (``vigil_rules: 1``, ``rules: [...]``), channels
  by name so that a file moves between installations.

Reading a file yields :class:`RuleDraft` values: the raw input of
:func:`app.alerts.rules.validate_rule` plus the channel names to resolve. Everything above
the "database" line is pure; :func:`export_rules` and :func:`import_rules` read and write.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import rule_store
from app.alerts.rules import RuleError, RuleIn, format_duration, validate_rule
from app.notify.channels_query import channel_choices

Format = Literal["vigil", "prometheus"]
FORMATS: Final[tuple[Format, ...]] = ("vigil", "prometheus")
VIGIL_VERSION: Final = 1
GROUP_NAME: Final = "vigil"
PROMQL: Final = "promql"
QUERY_PARAM: Final = "query"
"""The PromQL signal's parameter holding the query."""
MAX_FILE_BYTES: Final = 1_048_576

_NUMBER: Final = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_COMPARISONS: Final = ("==", "!=", ">=", "<=", ">", "<")
_SET_OPERATOR: Final = re.compile(r"\b(?:and|or|unless)\b", re.IGNORECASE)
_VIGIL_KEYS: Final = (
    "name",
    "signal",
    "params",
    "comparison",
    "threshold",
    "for",
    "keep_firing_for",
    "severity",
    "labels",
    "annotations",
    "no_data",
    "enabled",
    "channels",
)
_PROMETHEUS_KEYS: Final = ("alert", "expr", "for", "keep_firing_for", "labels", "annotations")
_GROUP_KEYS: Final = ("name", "rules", "interval", "limit")


class RuleFileError(ValueError):
    """A rule file that cannot be imported; names the rule (when known) and the field."""

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None):
        self.rule = rule
        self.field = field
        self.reason = message
        where = " ".join(
            part
            for part in (f"rule {rule!r}" if rule else "", f"field {field!r}" if field else "")
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True, slots=True)
class RuleDraft:
    """One rule read from a file: ``validate_rule`` input and its channels by name."""

    raw: dict[str, Any]
    channels: list[str] = field(default_factory=list)
    complete: bool = True
    """False for Prometheus rules: a rule they update keeps its Vigil-only fields."""

    @property
    def name(self) -> str:
        return str(self.raw.get("name", ""))


# ------------------------------------------------------------------ durations and numbers


def number_text(value: float) -> str:
    """``0.05`` → ``0.05``, ``4000.0`` → ``4000``: the shortest text that reads back equal."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# ------------------------------------------------------------------ PromQL expressions


def promql_expr(query: str, comparison: str, threshold: float) -> str:
    """The alerting expression of a PromQL rule: ``(<query>) > 0.05``."""
    return f"({query.strip()}) {comparison} {number_text(threshold)}"


def split_promql_expr(expr: str) -> tuple[str, str, float]:
    """(query, comparison, threshold) of ``<query> <op> <number>``; :class:`ValueError` if
    the expression does not end in a comparison with a number at its top level."""
    position = _last_top_level_comparison(expr)
    if position is None:
        raise ValueError(
            f"expr must end with a comparison to a number, e.g. `(<query>) > 0.05`; got {expr!r}"
        )
    start, operator = position
    left = expr[:start].strip()
    query = _strip_outer_parens(left)
    threshold_text = expr[start + len(operator) :].strip()
    if not _NUMBER.match(threshold_text):
        raise ValueError(
            f"expr must compare with a plain number after {operator!r}, got {threshold_text!r}"
        )
    if not query:
        raise ValueError("expr has no query before the comparison")
    if _SET_OPERATOR.search(_top_level_text(left)):
        raise ValueError(
            "expr combines series with and/or/unless outside parentheses; wrap the query in "
            "parentheses before the comparison, e.g. `(a and b) > 1`"
        )
    return query, operator, float(threshold_text)


def _scan_top_level(expr: str) -> Iterable[tuple[int, str]]:
    """(index, char) of every character outside brackets, braces, parentheses and strings."""
    depth = 0
    quote: str | None = None
    index = 0
    while index < len(expr):
        char = expr[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            yield index, char
        index += 1


def _top_level_text(expr: str) -> str:
    chars = [" "] * len(expr)
    for index, char in _scan_top_level(expr):
        chars[index] = char
    return "".join(chars)


def _last_top_level_comparison(expr: str) -> tuple[int, str] | None:
    text = _top_level_text(expr)
    found: tuple[int, str] | None = None
    index = 0
    while index < len(text):
        operator = next((op for op in _COMPARISONS if text.startswith(op, index)), None)
        if operator is not None and not (operator == "!=" and text.startswith("!~", index)):
            found = (index, operator)
            index += len(operator)
        else:
            index += 1
    return found


def _strip_outer_parens(expr: str) -> str:
    while expr.startswith("(") and expr.endswith(")") and _closing_paren(expr) == len(expr) - 1:
        expr = expr[1:-1].strip()
    return expr


def _closing_paren(expr: str) -> int:
    depth = 0
    for index, char in enumerate(expr):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1


# ------------------------------------------------------------------ export


def _sorted(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: mapping[key] for key in sorted(mapping)}


def prometheus_document(rules: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A Prometheus rule file with the PromQL rules of ``rules`` (stored rule fields)."""
    entries = []
    for rule in sorted(rules, key=lambda r: str(r["name"])):
        if rule["signal"] != PROMQL:
            continue
        entry: dict[str, Any] = {
            "alert": rule["name"],
            "expr": promql_expr(
                str(rule["params"][QUERY_PARAM]), rule["comparison"], rule["threshold"]
            ),
        }
        if rule["for_seconds"]:
            entry["for"] = format_duration(rule["for_seconds"])
        if rule["keep_firing_for_seconds"]:
            entry["keep_firing_for"] = format_duration(rule["keep_firing_for_seconds"])
        entry["labels"] = _sorted({**rule["labels"], "severity": rule["severity"]})
        if rule["annotations"]:
            entry["annotations"] = _sorted(rule["annotations"])
        entries.append(entry)
    return {"groups": [{"name": GROUP_NAME, "rules": entries}]}


@dataclass(frozen=True, slots=True)
class References:
    """Names of what rules point to by id: channels, RUM sites, services."""

    channels: Mapping[int, str] = field(default_factory=dict)
    sites: Mapping[int, str] = field(default_factory=dict)
    services: Mapping[int, str] = field(default_factory=dict)

    def ids(self, kind: str) -> dict[str, int]:
        names: Mapping[int, str] = getattr(self, kind)
        return {name: ref_id for ref_id, name in names.items()}


_NAMED_PARAMS: Final = (("site_id", "site", "sites"), ("service_id", "service", "services"))
"""Parameters holding an id, the name a Vigil file uses instead, and where names are."""


def params_by_name(params: Mapping[str, Any], refs: References) -> dict[str, Any]:
    """``site_id: 3`` → ``site: Shop`` (likewise services); None and unknown ids stay."""
    named = dict(params)
    for id_key, name_key, kind in _NAMED_PARAMS:
        ref_id = named.get(id_key)
        names: Mapping[int, str] = getattr(refs, kind)
        if id_key in named and (ref_id is None or ref_id in names):
            del named[id_key]
            if ref_id is not None:
                named[name_key] = names[ref_id]
    return _sorted(named)


def params_by_id(params: Mapping[str, Any], refs: References, *, rule: str) -> dict[str, Any]:
    """The inverse of :func:`params_by_name`; an unknown name is a :class:`RuleFileError`."""
    resolved = dict(params)
    for id_key, name_key, kind in _NAMED_PARAMS:
        if name_key not in resolved:
            continue
        name = resolved.pop(name_key)
        ids = refs.ids(kind)
        if name not in ids:
            what = "site" if kind == "sites" else "service"
            raise RuleFileError(f"no {what} named {name!r}", rule=rule, field=f"params.{name_key}")
        resolved[id_key] = ids[name]
    return resolved


def vigil_document(rules: Sequence[Mapping[str, Any]], *, refs: References) -> dict[str, Any]:
    """Every rule with every field; channel, site and service ids become names (channels
    that no longer exist are left out)."""
    entries = []
    for rule in sorted(rules, key=lambda r: str(r["name"])):
        entries.append(
            {
                "name": rule["name"],
                "signal": rule["signal"],
                "params": params_by_name(rule["params"], refs),
                "comparison": rule["comparison"],
                "threshold": rule["threshold"],
                "for": format_duration(rule["for_seconds"]),
                "keep_firing_for": format_duration(rule["keep_firing_for_seconds"]),
                "severity": rule["severity"],
                "labels": _sorted(rule["labels"]),
                "annotations": _sorted(rule["annotations"]),
                "no_data": rule["no_data"],
                "enabled": rule["enabled"],
                "channels": sorted(
                    refs.channels[i] for i in rule["channel_ids"] if i in refs.channels
                ),
            }
        )
    return {"vigil_rules": VIGIL_VERSION, "rules": entries}


def dump(document: Mapping[str, Any]) -> str:
    """YAML text of a rule document, keys in the order given."""
    return yaml.safe_dump(
        dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


# ------------------------------------------------------------------ import


def read_rule_file(text: str) -> list[RuleDraft]:
    """The rules of a Prometheus or Vigil rule file; :class:`RuleFileError` on the first
    problem (the format is told apart by its top-level key: ``groups`` or ``vigil_rules``)."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise RuleFileError(f"the file is larger than {MAX_FILE_BYTES} bytes")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(f"not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise RuleFileError("expected a YAML mapping with `groups` or `vigil_rules` at the top")
    if "groups" in document:
        drafts = _prometheus_drafts(document)
    elif "vigil_rules" in document:
        drafts = _vigil_drafts(document)
    else:
        raise RuleFileError(
            "expected `groups` (Prometheus rule file) or `vigil_rules` (Vigil rule file) at the top"
        )
    seen: set[str] = set()
    for draft in drafts:
        key = draft.name.strip().casefold()
        if key in seen:
            raise RuleFileError("appears more than once in the file", rule=draft.name)
        seen.add(key)
    return drafts


def _expect(value: object, kind: type, *, rule: str | None, field: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RuleFileError(f"expected {_KIND_NAMES[kind]}", rule=rule, field=field)
    return value


_KIND_NAMES: Final[dict[type, str]] = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "true or false",
    int: "a whole number",
}


def _unknown_keys(entry: Mapping[str, Any], allowed: Sequence[str]) -> list[str]:
    return [str(key) for key in entry if key not in allowed]


def _string_map(value: object, *, rule: str | None, field: str) -> dict[str, str]:
    mapping = _expect(value, dict, rule=rule, field=field)
    for key, item in mapping.items():
        if not isinstance(key, str) or not isinstance(item, str | int | float):
            raise RuleFileError("expected text keys and values", rule=rule, field=field)
    return {str(key): str(item) for key, item in mapping.items()}


def _prometheus_drafts(document: dict[str, Any]) -> list[RuleDraft]:
    unknown = _unknown_keys(document, ("groups",))
    if unknown:
        raise RuleFileError("unknown top-level key", field=unknown[0])
    drafts = []
    groups = _expect(document["groups"], list, rule=None, field="groups")
    for number, group in enumerate(groups, start=1):
        where = f"groups[{number - 1}]"
        _expect(group, dict, rule=None, field=where)
        unknown = _unknown_keys(group, _GROUP_KEYS)
        if unknown:
            raise RuleFileError("unknown key in a group", field=f"{where}.{unknown[0]}")
        for index, entry in enumerate(
            _expect(group.get("rules", []), list, rule=None, field=f"{where}.rules")
        ):
            drafts.append(_prometheus_draft(entry, where=f"{where}.rules[{index}]"))
    return drafts


def _prometheus_draft(entry: object, *, where: str) -> RuleDraft:
    _expect(entry, dict, rule=None, field=where)
    assert isinstance(entry, dict)
    if "record" in entry:
        raise RuleFileError(
            "recording rules cannot be imported, only alerting rules",
            rule=str(entry["record"]),
            field="record",
        )
    name = entry.get("alert")
    if not isinstance(name, str) or not name.strip():
        raise RuleFileError("every rule needs an `alert` name", field=f"{where}.alert")
    unknown = _unknown_keys(entry, _PROMETHEUS_KEYS)
    if unknown:
        raise RuleFileError("unknown key", rule=name, field=unknown[0])
    expr = _expect(entry.get("expr"), str, rule=name, field="expr")
    try:
        query, comparison, threshold = split_promql_expr(expr)
    except ValueError as exc:
        raise RuleFileError(str(exc), rule=name, field="expr") from None
    labels = _string_map(entry.get("labels", {}), rule=name, field="labels")
    raw: dict[str, Any] = {
        "name": name,
        "signal": PROMQL,
        "params": {QUERY_PARAM: query},
        "comparison": comparison,
        "threshold": threshold,
        "for": entry.get("for", 0),
        "keep_firing_for": entry.get("keep_firing_for", 0),
        "annotations": _string_map(entry.get("annotations", {}), rule=name, field="annotations"),
    }
    if "severity" in labels:
        raw["severity"] = labels.pop("severity")
    raw["labels"] = labels
    return RuleDraft(raw=raw, complete=False)


def _vigil_drafts(document: dict[str, Any]) -> list[RuleDraft]:
    unknown = _unknown_keys(document, ("vigil_rules", "rules"))
    if unknown:
        raise RuleFileError("unknown top-level key", field=unknown[0])
    if document["vigil_rules"] != VIGIL_VERSION:
        raise RuleFileError(
            f"unsupported version {document['vigil_rules']!r}, expected {VIGIL_VERSION}",
            field="vigil_rules",
        )
    entries = _expect(document.get("rules", []), list, rule=None, field="rules")
    return [_vigil_draft(entry, where=f"rules[{i}]") for i, entry in enumerate(entries)]


def _vigil_draft(entry: object, *, where: str) -> RuleDraft:
    _expect(entry, dict, rule=None, field=where)
    assert isinstance(entry, dict)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleFileError("every rule needs a `name`", field=f"{where}.name")
    unknown = _unknown_keys(entry, _VIGIL_KEYS)
    if unknown:
        raise RuleFileError("unknown key", rule=name, field=unknown[0])
    raw: dict[str, Any] = {"name": name}
    for key in (
        "signal",
        "comparison",
        "threshold",
        "for",
        "keep_firing_for",
        "severity",
        "no_data",
        "enabled",
    ):
        if key in entry:
            raw[key] = entry[key]
    if "params" in entry:
        raw["params"] = _expect(entry["params"], dict, rule=name, field="params")
    for key in ("labels", "annotations"):
        if key in entry:
            raw[key] = _string_map(entry[key], rule=name, field=key)
    channels = _expect(entry.get("channels", []), list, rule=name, field="channels")
    if not all(isinstance(c, str) for c in channels):
        raise RuleFileError("expected a list of channel names", rule=name, field="channels")
    return RuleDraft(raw=raw, channels=list(channels))


# ------------------------------------------------------------------ database


async def export_rules(session: AsyncSession, fmt: Format) -> str:
    """Every stored rule as a ``fmt`` rule file (Prometheus: the PromQL rules only)."""
    rules = [rule_store.rule_fields(r) for r in await rule_store.list_rules(session)]
    if fmt == "prometheus":
        return dump(prometheus_document(rules))
    return dump(vigil_document(rules, refs=await _references(session)))


async def _references(session: AsyncSession) -> References:
    return References(
        channels={channel_id: name for channel_id, name, _ in await channel_choices(session)},
        sites=await rule_store.site_names(session),
        services=await rule_store.service_names(session),
    )


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int


async def import_rules(session: AsyncSession, text: str, *, now: datetime) -> ImportResult:
    """Check every rule of the file, then create them (a rule with a taken name is
    replaced). Raises :class:`RuleFileError` before writing anything; does not commit."""
    drafts = read_rule_file(text)
    refs = await _references(session)
    channel_ids = refs.ids("channels")
    rules: list[RuleIn] = []
    for draft in drafts:
        raw = dict(draft.raw)
        if draft.complete:
            missing = [name for name in draft.channels if name not in channel_ids]
            if missing:
                raise RuleFileError(
                    f"no channel named {missing[0]!r}", rule=draft.name, field="channels"
                )
            raw["channel_ids"] = [channel_ids[name] for name in draft.channels]
            if isinstance(raw.get("params"), dict):
                raw["params"] = params_by_id(raw["params"], refs, rule=draft.name)
        try:
            existing = await rule_store.rule_by_name(session, draft.name.strip())
            if existing is not None and not draft.complete:
                rules.append(rule_store.merged(existing, raw))
            else:
                rules.append(validate_rule(raw))
        except RuleError as exc:
            raise RuleFileError(exc.message, rule=draft.name, field=exc.field) from None
    try:
        created, updated = await rule_store.replace_rules(session, rules, now=now)
    except RuleError as exc:
        raise RuleFileError(exc.message, field=exc.field) from None
    return ImportResult(created, updated)
