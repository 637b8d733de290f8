"""View models of the RUM pages: the site form, and the Web Vitals page's figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final
from urllib.parse import urlencode

from app.rum import sites
from app.rum.histogram import METRICS, THRESHOLDS, rate
from app.rum.models import Site
from app.rum.queries import DailyTrend, MetricTrend, PagesTable, SiteSummary


@dataclass
class SiteForm:
    """The site form as posted: origins one per line (or separated by spaces or commas)."""

    name: str = ""
    allowed_origins: str = ""
    sample_rate: str = "1"
    page_cap: str = str(sites.DEFAULT_PAGE_CAP)

    def origins(self) -> list[str]:
        return self.allowed_origins.replace(",", " ").split()

    def parsed(self) -> tuple[str, list[str], float, int]:
        """(name, origins, sample rate, page cap), validated; raises :class:`sites.SiteError`."""
        name = sites.normalise_name(self.name)
        origins = sites.normalise_origins(self.origins())
        try:
            sample_rate = float(self.sample_rate.strip())
        except ValueError:
            raise sites.SiteError(
                f"sample rate must be a number above 0 and at most 1, got {self.sample_rate!r}"
            ) from None
        try:
            page_cap = int(self.page_cap.strip())
        except ValueError:
            raise sites.SiteError(
                f"page cap must be a whole number, got {self.page_cap!r}"
            ) from None
        return name, origins, sites.check_sample_rate(sample_rate), sites.check_page_cap(page_cap)

    @classmethod
    def of(cls, site: Site) -> SiteForm:
        return cls(
            name=site.name,
            allowed_origins="\n".join(site.allowed_origins),
            sample_rate=sites.format_sample_rate(site.sample_rate),
            page_cap=str(site.page_cap),
        )


# --------------------------------------------------------------------------- Web Vitals page

METRIC_NAMES: Final[dict[str, str]] = {
    "LCP": "Largest Contentful Paint",
    "INP": "Interaction to Next Paint",
    "CLS": "Cumulative Layout Shift",
    "FCP": "First Contentful Paint",
    "TTFB": "Time to First Byte",
}
RATING_LABELS: Final[dict[str, str]] = {
    "good": "Good",
    "needs-improvement": "Needs improvement",
    "poor": "Poor",
}
RATING_SYMBOLS: Final[dict[str, str]] = {"good": "✓", "needs-improvement": "!", "poor": "✕"}
"""A shape per rating, so a rating never relies on colour alone."""
RANGE_LABELS: Final[dict[int, str]] = {1: "24 h", 7: "7 d", 30: "30 d"}
DEVICE_LABELS: Final[dict[str, str]] = {
    "all": "All devices",
    "mobile": "Mobile",
    "tablet": "Tablet",
    "desktop": "Desktop",
}
DEFAULT_RANGE: Final = 7
NO_VALUE: Final = "\u2013"
"""An en dash: what a cell without samples shows."""
EN_DASH: Final = "\u2013"
NBSP: Final = "\u00a0"
"""Between a number and its unit, so they never wrap apart."""


def format_value(metric: str, value: float | None) -> str:
    """``180 ms``, ``2.31 s`` (with a no-break space), ``0.11`` (CLS), or a dash if None."""
    if value is None:
        return NO_VALUE
    if metric == "CLS":
        return f"{value:.2f}"
    if value < 1000:
        return f"{value:.0f}{NBSP}ms"
    return f"{value / 1000:.2f}{NBSP}s"


def threshold_text(metric: str) -> str:
    """``good ≤ 2.50 s, poor > 4.00 s``."""
    good, poor = THRESHOLDS[metric]
    return f"good ≤ {format_value(metric, good)}, poor > {format_value(metric, poor)}"


def _percent(share: float) -> str:
    value = share * 100
    if 0 < value < 1:
        return "<1 %"
    return f"{value:.0f} %"


@dataclass(frozen=True, slots=True)
class Rated:
    """A value with its rating, shown as text, a symbol and a colour."""

    text: str
    rating: str | None
    label: str
    symbol: str

    @classmethod
    def of(cls, metric: str, value: float | None, rating: str | None) -> Rated:
        return cls(
            text=format_value(metric, value),
            rating=rating,
            label=RATING_LABELS.get(rating or "", "No data"),
            symbol=RATING_SYMBOLS.get(rating or "", ""),
        )


@dataclass(frozen=True, slots=True)
class Split:
    """Shares of good / needs-improvement / poor samples, as SVG widths (0..100) and text."""

    good: float
    ni: float
    poor: float

    @property
    def ni_x(self) -> float:
        return self.good

    @property
    def poor_x(self) -> float:
        return self.good + self.ni

    @property
    def good_text(self) -> str:
        return _percent(self.good / 100)

    @property
    def ni_text(self) -> str:
        return _percent(self.ni / 100)

    @property
    def poor_text(self) -> str:
        return _percent(self.poor / 100)


@dataclass(frozen=True, slots=True)
class MetricCard:
    metric: str
    name: str
    p75: Rated
    samples: int
    split: Split | None
    thresholds: str


def metric_cards(summary: SiteSummary) -> list[MetricCard]:
    """One card per metric: p75 with its rating, samples, and the rating split."""
    cards = []
    for m in summary.metrics:
        split = (
            Split(good=round(m.good * 100, 2), ni=round(m.ni * 100, 2), poor=round(m.poor * 100, 2))
            if m.n
            else None
        )
        cards.append(
            MetricCard(
                metric=m.metric,
                name=METRIC_NAMES[m.metric],
                p75=Rated.of(m.metric, m.p75, m.rating),
                samples=m.n,
                split=split,
                thresholds=threshold_text(m.metric),
            )
        )
    return cards


@dataclass(frozen=True, slots=True)
class ChartDot:
    x: float
    y: float
    rating: str
    label: str


@dataclass(frozen=True, slots=True)
class ChartLine:
    y: float
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class TrendChart:
    """A daily p75 line chart drawn as inline SVG in a ``width`` x ``height`` view box."""

    metric: str
    name: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    segments: list[str]
    """``points`` of each polyline; a day without samples breaks the line."""
    dots: list[ChartDot]
    thresholds: list[ChartLine]
    x_labels: list[tuple[float, str]]
    y_max_label: str
    description: str
    has_data: bool


CHART_WIDTH: Final = 320
CHART_HEIGHT: Final = 140
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 310, 10, 116


def trend_chart(metric_trend: MetricTrend) -> TrendChart:
    """Scale one metric's daily p75 into chart coordinates, with its thresholds as lines."""
    metric = metric_trend.metric
    points = metric_trend.points
    values = [p.p75 for p in points if p.p75 is not None]
    good, poor = THRESHOLDS[metric]
    top = max([*values, good]) * 1.15
    if poor <= top:
        top = max(top, poor * 1.1)

    def x_of(index: int) -> float:
        if len(points) == 1:
            return (_LEFT + _RIGHT) / 2
        return round(_LEFT + (_RIGHT - _LEFT) * index / (len(points) - 1), 1)

    def y_of(value: float) -> float:
        return round(_BOTTOM - (_BOTTOM - _TOP) * min(value, top) / top, 1)

    segments: list[str] = []
    current: list[str] = []
    dots = []
    for index, point in enumerate(points):
        if point.p75 is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x, y = x_of(index), y_of(point.p75)
        current.append(f"{x},{y}")
        dots.append(
            ChartDot(
                x=x,
                y=y,
                rating=rate(metric, point.p75),
                label=f"{point.day.isoformat()}: p75 {format_value(metric, point.p75)} "
                f"({point.n} samples)",
            )
        )
    if current:
        segments.append(" ".join(current))
    lines = [
        ChartLine(y=y_of(good), label=f"good ≤ {format_value(metric, good)}", kind="good"),
    ]
    if poor <= top:
        lines.append(
            ChartLine(y=y_of(poor), label=f"poor > {format_value(metric, poor)}", kind="poor")
        )
    x_labels = []
    if points:
        x_labels.append((float(_LEFT), points[0].day.strftime("%b %d")))
        if len(points) > 1:
            x_labels.append((float(_RIGHT), points[-1].day.strftime("%b %d")))
    latest = next((p for p in reversed(points) if p.p75 is not None), None)
    description = (
        f"{METRIC_NAMES[metric]}, daily p75 from {points[0].day.isoformat()} to "
        f"{points[-1].day.isoformat()}: latest {format_value(metric, latest.p75)} on "
        f"{latest.day.isoformat()}."
        if latest is not None and latest.p75 is not None
        else f"{METRIC_NAMES[metric]}: no samples in this range."
    )
    return TrendChart(
        metric=metric,
        name=METRIC_NAMES[metric],
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        plot_left=_LEFT,
        plot_right=_RIGHT,
        plot_top=_TOP,
        plot_bottom=_BOTTOM,
        segments=segments,
        dots=dots,
        thresholds=lines,
        x_labels=x_labels,
        y_max_label=format_value(metric, top),
        description=description,
        has_data=bool(values),
    )


def trend_charts(trend: DailyTrend) -> list[TrendChart]:
    return [trend_chart(m) for m in trend.metrics]


@dataclass(frozen=True, slots=True)
class PageLine:
    page: str
    views: int
    cells: list[Rated]


def page_lines(table: PagesTable) -> list[PageLine]:
    """The pages table's rows, each metric's p75 formatted with its rating."""
    return [
        PageLine(
            page=row.page,
            views=row.views,
            cells=[
                Rated.of(metric, row.metrics[metric].p75, row.metrics[metric].rating)
                for metric in METRICS
            ],
        )
        for row in table.rows
    ]


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True, slots=True)
class SortLink:
    key: str
    label: str
    href: str
    current: bool
    aria_sort: str | None


def sort_links(*, query: dict[str, str], current: str) -> list[SortLink]:
    """Column headers of the pages table: links that sort by views or by a metric's p75."""
    links = []
    for key in ("views", *METRICS):
        params = {**query, "sort": key}
        links.append(
            SortLink(
                key=key,
                label="Views" if key == "views" else f"{key} p75",
                href="/vitals?" + urlencode(params) + "#pages",
                current=key == current,
                aria_sort="descending" if key == current else None,
            )
        )
    return links


def range_choices(current: int) -> list[Choice]:
    return [Choice(str(days), label, days == current) for days, label in RANGE_LABELS.items()]


def device_choices(current: str) -> list[Choice]:
    return [Choice(key, label, key == current) for key, label in DEVICE_LABELS.items()]


def site_choices(rows: list[Site], current: int | None) -> list[Choice]:
    return [Choice(str(site.id), site.name, site.id == current) for site in rows]


def period_text(first_day: date, last_day: date) -> str:
    """``Nov 17 to Nov 23, 2026 (UTC)`` (with an en dash) or ``Nov 23, 2026 (UTC)``."""
    if first_day == last_day:
        return f"{last_day.strftime('%b %d, %Y')} (UTC)"
    return f"{first_day.strftime('%b %d')} {EN_DASH} {last_day.strftime('%b %d, %Y')} (UTC)"


CORE_METRICS: Final = ("LCP", "INP", "CLS")
"""The Core Web Vitals: what the overview shows per site."""


@dataclass(frozen=True, slots=True)
class SiteGlance:
    """One site on the overview: its core metrics' p75 over the last 24 h."""

    site_id: int
    name: str
    samples: int
    cells: list[Rated]


def site_glance(site: Site, summary: SiteSummary) -> SiteGlance:
    by_metric = {m.metric: m for m in summary.metrics}
    return SiteGlance(
        site_id=site.id,
        name=site.name,
        samples=max((m.n for m in summary.metrics), default=0),
        cells=[
            Rated.of(metric, by_metric[metric].p75, by_metric[metric].rating)
            for metric in CORE_METRICS
        ],
    )
