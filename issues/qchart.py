"""The Q chart (DOMAIN.md §5, 000 §5.11; issue #5): a month calendar coloured by the worst grade
of each day, the problems per month by grade, and Pareto charts.

Pure: plain values in (counts already summed per day or month by the caller, "today" in the
plant's time zone), no ORM and no clock. The charts are reportlab.graphics Drawings so the web
page (SVG via `to_svg`) and the printouts draw them with the same code (DESIGN.md "Printouts");
every text uses the printout's CJK TrueType font so Chinese labels render in both."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _
from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
from reportlab.lib import colors

from issues.printout import font_name

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


def pareto(counts: Mapping[str, int]) -> list[tuple[str, int, float]]:
    """(label, count, cumulative percent) from the biggest count down, ties by label; labels
    without problems are left out."""
    rows = sorted(((label, n) for label, n in counts.items() if n > 0), key=lambda row: (-row[1], row[0]))
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


def _bar_chart(data: list[list[int]], labels: list[str], font: str) -> VerticalBarChart:
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = PLOT_X, PLOT_Y, PLOT_WIDTH, PLOT_HEIGHT
    chart.data = data
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = 1
    top = max((sum(column) for column in zip(*data, strict=True)), default=0)
    chart.valueAxis.valueMax = max(top, 1)  # an empty chart still gets an axis
    chart.valueAxis.valueStep = max(1, -(-top // 5))  # whole problems only, about five steps
    chart.barLabelFormat = _value_label
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7
    return chart


def _title(text: str, font: str) -> String:
    return String(PLOT_X, HEIGHT - 18, text, fontName=font, fontSize=11, fillColor=INK)


def monthly_bars(
    months: Sequence[tuple[int, int]], counts_by_grade: Mapping[tuple[int, int], Mapping[str, int]], title: str = ""
) -> Drawing:
    """Problems per month, stacked A (bottom) / B / C, with a legend."""
    font = font_name()
    data = [[counts_by_grade.get(month, {}).get(grade, 0) for month in months] for grade in GRADES]
    chart = _bar_chart(data, [f"{year}-{month:02d}" for year, month in months], font)
    chart.categoryAxis.style = "stacked"
    for index, grade in enumerate(GRADES):
        chart.bars[index].fillColor = GRADE_COLOURS[grade]
        chart.bars[index].strokeColor = None
    chart.barLabels.boxTarget = "mid"

    legend = Legend()
    legend.x, legend.y = PLOT_X + PLOT_WIDTH + 8, PLOT_Y + PLOT_HEIGHT
    legend.fontName, legend.fontSize = font, 8
    legend.alignment = "right"
    # Top to bottom like the stack: C, B, A; the grade letters are the same in both languages.
    legend.colorNamePairs = [(GRADE_COLOURS[grade], grade) for grade in reversed(GRADES)]

    drawing = Drawing(WIDTH, HEIGHT)
    drawing.add(_title(title or _("Problems per month"), font))
    drawing.add(chart)
    drawing.add(legend)
    return drawing


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def pareto_chart(rows: Sequence[tuple[str, int, float]], title: str) -> Drawing:
    """Bars of counts (left axis) and the cumulative percentage as a line (right axis, 0–100)."""
    font = font_name()
    drawing = Drawing(WIDTH, HEIGHT)
    drawing.add(_title(title, font))
    if not rows:
        drawing.add(String(PLOT_X, PLOT_Y + PLOT_HEIGHT / 2, _("No problems"), fontName=font, fontSize=10))
        return drawing
    chart = _bar_chart([[n for _label, n, _cum in rows]], [_short(label) for label, _n, _cum in rows], font)
    chart.bars[0].fillColor = PARETO_BAR
    chart.bars[0].strokeColor = None
    drawing.add(chart)

    right = PLOT_X + PLOT_WIDTH
    slot = PLOT_WIDTH / len(rows)
    points = []
    for index, (_label, _n, cumulative) in enumerate(rows):
        points += [PLOT_X + slot * (index + 0.5), PLOT_Y + PLOT_HEIGHT * cumulative / 100]
    drawing.add(PolyLine(points, strokeColor=PARETO_LINE, strokeWidth=1.5))
    for x, y in zip(points[::2], points[1::2], strict=True):
        drawing.add(Circle(x, y, 2.5, fillColor=PARETO_LINE, strokeColor=None))
    drawing.add(Line(right, PLOT_Y, right, PLOT_Y + PLOT_HEIGHT, strokeColor=INK, strokeWidth=0.5))
    for percent in (0, 50, 80, 100):  # 80: the Pareto cut-off people look for
        y = PLOT_Y + PLOT_HEIGHT * percent / 100
        drawing.add(Line(right, y, right + 3, y, strokeColor=INK, strokeWidth=0.5))
        drawing.add(String(right + 5, y - 2.5, f"{percent}%", fontName=font, fontSize=7, fillColor=PARETO_LINE))
    return drawing


def to_svg(drawing: Drawing) -> str:
    """The drawing as an SVG document, text as <text> elements so Chinese stays selectable."""
    svg = renderSVG.drawToString(drawing)
    # The browser knows no font called by reportlab's registered name ("WQY"): name the same
    # face as installed, then any sans-serif, so Chinese does not fall back to a serif face.
    font = font_name()
    return svg.replace(f"font-family: {font};", f"font-family: {font}, WenQuanYi Zen Hei, sans-serif;")
