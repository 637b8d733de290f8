"""Annotation templates: values, labels, formatters, and nothing else."""

from __future__ import annotations

import pytest

from app.alerts.templates import TemplateError, humanize, parse, render, render_all


def show(text: str, value: float | None = 4211.7, **labels: str) -> str:
    return render(parse(text), value=value, labels=labels)


def test_value_and_labels_are_substituted() -> None:
    assert show("{{ $value }} on {{$labels.page}}", page="/cart") == "4211.7 on /cart"


def test_formatters() -> None:
    assert show('{{ $value | printf "%.0f" }} ms') == "4212 ms"
    assert show('{{ $value | printf "%d" }}') == "4211"
    assert show("{{ $value | humanize }}", value=1_234_567) == "1.235M"
    assert humanize(0.25) == "0.25"


def test_missing_label_renders_empty_and_missing_value_renders_none() -> None:
    assert show("[{{ $labels.nope }}] {{ $value }}", value=None) == "[] none"


@pytest.mark.parametrize(
    "text",
    [
        "{{ .Value }}",
        "{{ $value | call }}",
        "{{ $labels }}",
        "{{ $labels.x.y }}",
        "unclosed {{ $value",
        "stray }}",
        '{{ printf "%s" $value }}',
        '{{ $value | printf "%s" }}',
    ],
)
def test_anything_else_is_rejected(text: str) -> None:
    with pytest.raises(TemplateError):
        parse(text)


def test_render_all_shows_a_broken_template_as_written() -> None:
    out = render_all({"a": "{{ $value }}", "b": "{{ bad }}"}, value=1.0, labels={})
    assert out == {"a": "1", "b": "{{ bad }}"}
