"""Server-rendered SVG line charts (the geometry; ``partials/_components.html`` draws them).

Same look as the services and Web Vitals charts: a view box, a zero axis, a dashed top
line at a round maximum, one polyline per run of known values, a dot with a tooltip per
point, and the chart's data is always also shown as a table by the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

WIDTH: Final = 520
HEIGHT: Final = 170
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 510, 12, 140


@dataclass(frozen=True, slots=True)
class ChartPoint:
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    segments: list[str]
    """``points`` of each polyline; an unknown value breaks the line."""
    points: list[ChartPoint]
    x_labels: list[tuple[float, str, str]]
    """(x, text, text-anchor)."""
    y_max_label: str
    description: str
    has_data: bool


def nice_ceiling(value: float) -> float:
    """A round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) >= ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= value)


def line_chart(
    values: Sequence[tuple[str, float | None]],
    *,
    format_value: Callable[[float], str],
    description: str,
) -> LineChart:
    """Chart ``(x label, value)`` pairs evenly spaced from left to right."""
    known = [value for _label, value in values if value is not None]
    top = nice_ceiling(max(known, default=0.0) * 1.1)
    step = (_RIGHT - _LEFT) / max(1, len(values) - 1)
    segments: list[str] = []
    current: list[str] = []
    points: list[ChartPoint] = []
    for index, (label, value) in enumerate(values):
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x = round(_LEFT + step * index, 1)
        y = round(_BOTTOM - (_BOTTOM - _TOP) * min(value, top) / top, 1)
        current.append(f"{x},{y}")
        points.append(ChartPoint(x=x, y=y, label=f"{label}: {format_value(value)}"))
    if current:
        segments.append(" ".join(current))
    x_labels: list[tuple[float, str, str]] = []
    if values:
        x_labels.append((float(_LEFT), values[0][0], "start"))
        if len(values) > 1:
            x_labels.append((float(_RIGHT), values[-1][0], "end"))
    return LineChart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=_LEFT,
        plot_right=_RIGHT,
        plot_top=_TOP,
        plot_bottom=_BOTTOM,
        segments=segments,
        points=points,
        x_labels=x_labels,
        y_max_label=format_value(top),
        description=description,
        has_data=bool(known),
    )
