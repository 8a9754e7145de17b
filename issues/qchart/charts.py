"""The Q chart (docs/meeting.md §The Q chart; issue #5): a month calendar coloured by the worst grade
of each day, the problems per month by grade, and Pareto charts.

Pure: plain values in (counts already summed per day or month by the caller, "today" in the
plant's time zone), no ORM and no clock. The charts are reportlab.graphics Drawings so the web
page (SVG via `to_svg`) and the printouts draw them with the same code (docs/meeting.md §The Q chart);
every text uses the printout's CJK TrueType font so Chinese labels render in both. Without a
usable font file a chart is still drawn, measured with reportlab's built-in CJK metrics
(issues.common.pdf_font.chart_font): a web page's chart takes its glyphs from the browser."""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.html import escape
from django.utils.translation import gettext as _
from reportlab import rl_config
from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
from reportlab.lib import colors

from issues.common.pdf_font import chart_font

# reportlab checks every attribute set on a shape against its declared type: a fifth of the time
# of drawing a chart (bench/board.py, "Q chart drawn"). The charts here set fixed, tested values.
rl_config.shapeChecking = 0

GRADES = ("A", "B", "C")
SERIOUS = frozenset({"A", "B"})  # important or critical: the day turns red
GREEN, YELLOW, RED = "green", "yellow", "red"

# The board's grade colours (static/css/qrqc.css --red, --amber); C is grey rather than the CSS
# green so a bar of general problems is not read as "no problem" next to the green calendar.
GRADE_COLOURS = {
    "A": colors.HexColor("#c62828"),
    "B": colors.HexColor("#f9a825"),
    "C": colors.HexColor("#9e9e9e"),
}
INK = colors.HexColor("#1b1f24")
PARETO_BAR = colors.HexColor("#2f4a6d")
PARETO_LINE = colors.HexColor("#c62828")
LABEL_CHARS = 12  # longer Pareto labels are cut so a dozen of them fit under the bars

WIDTH, HEIGHT = 520, 260
PLOT_X, PLOT_Y = 40, 60
PLOT_WIDTH, PLOT_HEIGHT = 420, 160


@dataclass(frozen=True)
class Layout:
    """Where a chart draws, in points (print) or CSS pixels at 1:1 (screen)."""

    width: float = WIDTH
    height: float = HEIGHT
    plot_x: float = PLOT_X
    plot_y: float = PLOT_Y
    plot_width: float = PLOT_WIDTH
    plot_height: float = PLOT_HEIGHT
    font_size: float = 7
    label_chars: int = LABEL_CHARS  # a Chinese character counts two
    max_slot: float = PLOT_WIDTH  # widest room for one bar: a Pareto of two bars is not two slabs


# An A4 page, read from 40 cm.
PRINT = Layout()
# A web page: drawn at about a phone's width so its text is still 10 px there; a desktop's wider
# column scales it up. The SVG's viewBox keeps it sharp at any size.
SCREEN = Layout(400, 280, 40, 66, 316, 170, font_size=10, label_chars=12, max_slot=64)


# --------------------------------------------------------------------------- calendar


def day_colour(grades: Iterable[str]) -> str:
    """Green without problems, red with any A or B, yellow when only general (C) problems."""
    seen = set(grades)
    if seen & SERIOUS:
        return RED
    return YELLOW if seen else GREEN


@dataclass(frozen=True)
class Day:
    date: date
    colour: str  # "" for a day after today: it has no colour yet
    counts: dict[str, int] = field(default_factory=dict)  # grade -> problems that day

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def month_calendar(
    year: int, month: int, counts: Mapping[date, Mapping[str, int]], today: date
) -> list[list[Day | None]]:
    """Weeks of the month, Monday first; None pads the first and last week."""
    weeks = []
    for week in calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(year, month):
        row: list[Day | None] = []
        for day in week:
            if day.month != month:
                row.append(None)
            elif day > today:
                row.append(Day(day, ""))
            else:
                found = {grade: n for grade, n in counts.get(day, {}).items() if n > 0}
                row.append(Day(day, day_colour(found), found))
        weeks.append(row)
    return weeks


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def last_12_months(today: date) -> list[tuple[int, int]]:
    """The 12 months ending with today's, oldest first."""
    months = [(today.year, today.month)]
    while len(months) < 12:
        months.append(previous_month(*months[-1]))
    return months[::-1]


def pareto(counts: Mapping[str, int], limit: int | None = None, others: str = "") -> list[tuple[str, int, float]]:
    """(label, count, cumulative percent) from the biggest count down, ties by label; labels
    without problems are left out. With `limit`, at most that many bars: the biggest
    `limit - 1` and, last whatever its size (the Pareto convention), one bar `others` for the rest."""
    rows = sorted(((label, n) for label, n in counts.items() if n > 0), key=lambda row: (-row[1], row[0]))
    if limit is not None and len(rows) > limit:
        rest = sum(n for _label, n in rows[limit - 1 :])
        rows = [*rows[: limit - 1], (others or _("Others"), rest)]
    total = sum(n for _label, n in rows)
    result, running = [], 0
    for label, n in rows:
        running += n
        result.append((label, n, running * 100 / total))
    return result


# --------------------------------------------------------------------------- charts


def _value_label(value: float) -> str:
    # A zero segment of a stacked bar has no height: its "0" would overprint its neighbours.
    return f"{value:.0f}" if value else ""


def axis_step(top: int) -> int:
    """About five steps of 1, 2 or 5 times a power of ten (219 -> 50), whole problems only."""
    rough = max(1.0, top / 5)
    power = 10 ** math.floor(math.log10(rough))
    return next(int(factor * power) for factor in (1, 2, 5, 10) if factor * power >= rough)


def _bar_chart(data: list[list[int]], labels: list[str], font: str, layout: Layout) -> VerticalBarChart:
    size = layout.font_size
    chart = VerticalBarChart()
    chart.x, chart.y, chart.height = layout.plot_x, layout.plot_y, layout.plot_height
    chart.width = min(layout.plot_width, layout.max_slot * len(labels))
    chart.data = data
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = size
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = size
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = 1
    top = max((sum(column) for column in zip(*data, strict=True)), default=0)
    step = axis_step(top)
    chart.valueAxis.valueStep = step
    chart.valueAxis.valueMax = max(step, -(-top // step) * step)  # an empty chart still gets an axis
    chart.barLabelFormat = _value_label
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = size
    return chart


def _title(text: str, font: str, layout: Layout) -> String:
    size = layout.font_size + 4
    return String(layout.plot_x, layout.height - 18, text, fontName=font, fontSize=size, fillColor=INK)


def monthly_bars(
    months: Sequence[tuple[int, int]],
    counts_by_grade: Mapping[tuple[int, int], Mapping[str, int]],
    title: str = "",
    layout: Layout = PRINT,
) -> Drawing:
    """Problems per month, stacked A (bottom) / B / C, with a legend."""
    font = chart_font().name
    data = [[counts_by_grade.get(month, {}).get(grade, 0) for month in months] for grade in GRADES]
    chart = _bar_chart(data, [f"{year}-{month:02d}" for year, month in months], font, layout)
    chart.categoryAxis.style = "stacked"
    for index, grade in enumerate(GRADES):
        chart.bars[index].fillColor = GRADE_COLOURS[grade]
        chart.bars[index].strokeColor = None
    chart.barLabels.boxTarget = "mid"
    # A segment lower than its label would be overprinted by it (and blur its neighbours' labels).
    smallest = chart.valueAxis.valueMax * layout.font_size * 1.2 / layout.plot_height
    chart.barLabelFormat = lambda value: _value_label(value) if value >= smallest else ""

    legend = Legend()
    legend.x, legend.y = layout.plot_x + layout.plot_width + 8, layout.plot_y + layout.plot_height
    legend.fontName, legend.fontSize = font, layout.font_size + 1
    legend.alignment = "right"
    # Top to bottom like the stack: C, B, A; the grade letters are the same in both languages.
    legend.colorNamePairs = [(GRADE_COLOURS[grade], grade) for grade in reversed(GRADES)]

    drawing = Drawing(layout.width, layout.height)
    drawing.add(_title(title or _("Problems per month"), font, layout))
    drawing.add(chart)
    drawing.add(legend)
    return drawing


def _columns(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _short(label: str, room: int) -> str:
    """`label` cut to `room` columns, a Chinese character taking two, "…" marking the cut."""
    if sum(_columns(char) for char in label) <= room:
        return label
    kept, used = "", 1  # the ellipsis
    for char in label:
        used += _columns(char)
        if used > room:
            break
        kept += char
    return kept + "…"


def pareto_chart(
    rows: Sequence[tuple[str, int, float]], title: str, layout: Layout = PRINT, empty: str = ""
) -> Drawing:
    """Bars of counts (left axis) and the cumulative percentage as a line (right axis, 0–100);
    without rows, the text `empty` (default "No problems")."""
    font = chart_font().name
    drawing = Drawing(layout.width, layout.height)
    drawing.add(_title(title, font, layout))
    x, y0, height = layout.plot_x, layout.plot_y, layout.plot_height
    if not rows:
        text = empty or _("No problems")
        drawing.add(String(x, y0 + height / 2, text, fontName=font, fontSize=layout.font_size + 3, fillColor=INK))
        return drawing
    labels = [_short(label, layout.label_chars) for label, _n, _cum in rows]
    chart = _bar_chart([[n for _label, n, _cum in rows]], labels, font, layout)
    chart.bars[0].fillColor = PARETO_BAR
    chart.bars[0].strokeColor = None
    chart.barLabels.boxAnchor = "s"  # the count stands on its bar
    chart.barLabels.dy = 1
    drawing.add(chart)

    right = x + chart.width
    slot = chart.width / len(rows)
    points = []
    for index, (_label, _n, cumulative) in enumerate(rows):
        points += [x + slot * (index + 0.5), y0 + height * cumulative / 100]
    drawing.add(PolyLine(points, strokeColor=PARETO_LINE, strokeWidth=1.5))
    for x, y in zip(points[::2], points[1::2], strict=True):
        drawing.add(Circle(x, y, 2.5, fillColor=PARETO_LINE, strokeColor=None))
    drawing.add(Line(right, y0, right, y0 + height, strokeColor=INK, strokeWidth=0.5))
    size = layout.font_size
    for percent in (0, 50, 80, 100):  # 80: the Pareto cut-off people look for
        y = y0 + height * percent / 100
        drawing.add(Line(right, y, right + 3, y, strokeColor=INK, strokeWidth=0.5))
        drawing.add(String(right + 5, y - size / 3, f"{percent}%", fontName=font, fontSize=size, fillColor=PARETO_LINE))
    return drawing


def to_svg(drawing: Drawing) -> str:
    """The drawing as an SVG document, text as <text> elements so Chinese stays selectable."""
    svg = renderSVG.drawToString(drawing)
    # The browser knows no font called by reportlab's registered name ("CJK0"): name the same
    # face as installed, then any sans-serif, so Chinese does not fall back to a serif face.
    font = chart_font()
    family = ", ".join(filter(None, [font.family, "sans-serif"]))
    return svg.replace(f"font-family: {font.name};", f"font-family: {family};")


_SIZE = re.compile(r'^<svg width="[0-9.]+" height="[0-9.]+"')
_STYLE = re.compile(r' style="([^"]*)"')
# What renderSVG writes into style attributes. Each is also an SVG presentation attribute, and
# attributes pass a Content-Security-Policy that allows no inline style (style-src 'self').
PRESENTATION_ATTRIBUTES = frozenset(
    {
        "clip-path",
        "fill",
        "fill-opacity",
        "fill-rule",
        "font-family",
        "font-size",
        "font-style",
        "font-variant",
        "font-weight",
        "opacity",
        "stroke",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-opacity",
        "stroke-width",
        "text-anchor",
    }
)


def style_as_attributes(svg: str) -> str:
    """Every `style="a: b; c: d"` of renderSVG's output as `a="b" c="d"`. The page's stylesheets
    style only the <svg> box, so the drawing looks the same. A style with another property is
    left as it is: the browser test of the page then reports it as a CSP violation."""

    def convert(match: re.Match) -> str:
        pairs = [part.split(":", 1) for part in match.group(1).split(";") if part.strip()]
        if any(len(pair) != 2 or pair[0].strip() not in PRESENTATION_ATTRIBUTES for pair in pairs):
            return match.group(0)
        return "".join(f' {name.strip()}="{value.strip()}"' for name, value in pairs)

    return _STYLE.sub(convert, svg)


def inline_svg(drawing: Drawing, ident: str, label: str) -> str:
    """The drawing as an <svg> element to put inside an HTML page: no XML prolog, as wide as its
    box with the height following the viewBox, ids made unique with `ident` (renderSVG names
    every clip path "clip"; a second chart on the page would point at the first one's), and
    `label` as its accessible name, styles as presentation attributes (style_as_attributes).
    Texts are escaped by renderSVG, the label here."""
    svg = style_as_attributes(to_svg(drawing))
    svg = svg[svg.index("<svg") :]
    name = escape(label)
    svg = _SIZE.sub(f'<svg width="100%" role="img" aria-label="{name}" id="{escape(ident)}"', svg, count=1)
    svg = svg.replace('id="clip"', f'id="{ident}-clip"').replace("url(#clip)", f"url(#{ident}-clip)")
    svg = svg.replace('id="group"', f'id="{ident}-group"')
    return svg.replace("<title>...</title>", f"<title>{name}</title>", 1).replace("<desc>...</desc>", "", 1)
