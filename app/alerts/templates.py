"""Annotation templates: ``{{ $value }}``, ``{{ $labels.name }}`` and two formatters.

A deliberately tiny language (no code, no loops, no attribute access beyond labels), so an
admin's annotation can never run anything::

    >>> render(parse("p75 is {{ $value | printf \\"%.0f\\" }} ms on {{ $labels.page }}"),
    ...        value=4211.7, labels={"page": "/cart"})
    'p75 is 4212 ms on /cart'

Expressions: ``$value``, ``$labels.<name>``, each optionally piped to ``humanize`` (1234567
-> ``1.235M``) or ``printf "<%f/%d/%g/%e format>"``. A label that is absent renders empty;
a missing value renders ``none``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

_TAG: Final = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_EXPR: Final = re.compile(
    r"^\s*\$(?:(?P<value>value)|labels\.(?P<label>[A-Za-z_][A-Za-z0-9_]*))"
    r"(?:\s*\|\s*(?:(?P<humanize>humanize)"
    r"|printf\s+\"(?P<format>%[-+ 0#]?[0-9]*(?:\.[0-9]+)?[dfeEgG])\"))?"
    r"\s*$"
)
_PREFIXES: Final = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


class TemplateError(ValueError):
    """A template that cannot be parsed; the message says where."""


@dataclass(frozen=True, slots=True)
class _Expr:
    label: str | None
    """None: the value."""
    humanize: bool
    format: str | None


Template = tuple[str | _Expr, ...]
"""A parsed template: literal text and expressions, in order."""


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Template:
    """Parse ``text``; raises :class:`TemplateError` on an unknown or unclosed expression."""
    parts: list[str | _Expr] = []
    position = 0
    for match in _TAG.finditer(text):
        parts.append(text[position : match.start()])
        expr = _EXPR.match(match.group(1))
        if expr is None:
            raise TemplateError(
                f"unknown expression {match.group(0)!r}: use {{{{ $value }}}} or "
                '{{ $labels.<name> }}, optionally | humanize or | printf "%.2f"'
            )
        parts.append(_Expr(expr["label"], expr["humanize"] is not None, expr["format"]))
        position = match.end()
    rest = text[position:]
    if "{{" in rest or "}}" in rest:
        raise TemplateError("unbalanced '{{' or '}}'")
    parts.append(rest)
    return tuple(part for part in parts if part != "")


def render(template: Template, *, value: float | None, labels: Mapping[str, str]) -> str:
    """The text of ``template`` for one series."""
    out = []
    for part in template:
        if isinstance(part, str):
            out.append(part)
        elif part.label is not None:
            out.append(labels.get(part.label, ""))
        else:
            out.append(_format_value(value, part))
    return "".join(out)


def render_all(
    templates: Mapping[str, str], *, value: float | None, labels: Mapping[str, str]
) -> dict[str, str]:
    """Every annotation rendered; one that does not parse is shown as written."""
    rendered = {}
    for name, text in templates.items():
        try:
            rendered[name] = render(parse(text), value=value, labels=labels)
        except TemplateError:
            rendered[name] = text
    return rendered


def _format_value(value: float | None, expr: _Expr) -> str:
    if value is None:
        return "none"
    if expr.format is not None:
        return expr.format % (int(value) if expr.format.endswith("d") else value)
    if expr.humanize:
        return humanize(value)
    return f"{value:g}"


def humanize(value: float) -> str:
    """``1234567`` -> ``1.235M``: SI prefixes above 1000, four significant digits."""
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.4g}{prefix}"
    return f"{value:.4g}"
