"""The Q chart's pure logic and its SVG charts (issues/qchart/charts.py, issue #5)."""

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from reportlab.graphics.shapes import PolyLine

from issues.qchart import charts as qchart
from issues.qchart.charts import Day, day_colour, last_12_months, month_calendar, next_month, pareto, previous_month

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("grades", "colour"),
    [
        ([], "green"),
        (["C"], "yellow"),
        (["C", "C", "C"], "yellow"),
        (["B"], "red"),
        (["A"], "red"),
        (["C", "B"], "red"),
        (["C", "A", "C"], "red"),
    ],
)
def test_a_day_is_coloured_by_its_worst_grade(grades, colour):
    assert day_colour(grades) == colour
    assert day_colour(iter(grades)) == colour  # any iterable, e.g. a generator over problems


def test_november_2026_starts_on_a_sunday_so_its_first_week_has_six_blank_cells():
    weeks = month_calendar(2026, 11, {}, today=date(2026, 12, 31))
    assert weeks[0][:6] == [None] * 6
    assert weeks[0][6].date == date(2026, 11, 1)
    assert all(len(week) == 7 for week in weeks)
    assert len(weeks) == 6  # 1 + four full weeks + Monday 30th
    assert weeks[-1][0].date == date(2026, 11, 30)
    assert weeks[-1][1:] == [None] * 6
    days = [day for week in weeks for day in week if day]
    assert [day.date.day for day in days] == list(range(1, 31))


def test_days_after_today_are_blank_and_today_is_coloured():
    counts = {date(2026, 11, 21): {"C": 2}, date(2026, 11, 22): {"A": 1}}
    days = {day.date: day for week in month_calendar(2026, 11, counts, today=date(2026, 11, 21)) for day in week if day}
    assert days[date(2026, 11, 21)] == Day(date(2026, 11, 21), "yellow", {"C": 2})
    # A problem dated tomorrow (another time zone, a bad clock) still leaves the future blank.
    assert days[date(2026, 11, 22)].colour == ""
    assert days[date(2026, 11, 22)].total == 0
    assert all(days[date(2026, 11, n)].colour == "" for n in range(22, 31))
    assert days[date(2026, 11, 20)].colour == "green"


def test_calendar_days_carry_their_counts_per_grade_and_total():
    counts = {
        date(2026, 11, 3): {"A": 1, "C": 4},
        date(2026, 11, 4): {"B": 0, "C": 1},  # a zero count is no problem: the day stays yellow
        date(2026, 10, 31): {"A": 9},  # other months are ignored
    }
    days = {day.date: day for week in month_calendar(2026, 11, counts, today=date(2026, 11, 30)) for day in week if day}
    assert days[date(2026, 11, 3)].colour == "red"
    assert days[date(2026, 11, 3)].counts == {"A": 1, "C": 4}
    assert days[date(2026, 11, 3)].total == 5
    assert days[date(2026, 11, 4)].colour == "yellow"
    assert days[date(2026, 11, 4)].counts == {"C": 1}
    assert days[date(2026, 11, 5)] == Day(date(2026, 11, 5), "green", {})
    assert sum(day.total for day in days.values()) == 6


def test_a_month_starting_on_monday_has_no_leading_blanks():
    weeks = month_calendar(2026, 6, {}, today=date(2026, 6, 1))  # 1 June 2026 is a Monday
    assert weeks[0][0].date == date(2026, 6, 1)
    assert weeks[0][0].colour == "green"
    assert weeks[0][1].colour == ""


@pytest.mark.parametrize(
    ("month", "before", "after"),
    [
        ((2026, 1), (2025, 12), (2026, 2)),
        ((2026, 12), (2026, 11), (2027, 1)),
        ((2026, 6), (2026, 5), (2026, 7)),
    ],
)
def test_month_navigation_crosses_year_ends(month, before, after):
    assert previous_month(*month) == before
    assert next_month(*month) == after
    assert next_month(*previous_month(*month)) == month


def test_the_last_12_months_end_with_this_month_oldest_first():
    assert last_12_months(date(2026, 3, 31)) == [
        (2025, 4),
        (2025, 5),
        (2025, 6),
        (2025, 7),
        (2025, 8),
        (2025, 9),
        (2025, 10),
        (2025, 11),
        (2025, 12),
        (2026, 1),
        (2026, 2),
        (2026, 3),
    ]
    assert last_12_months(date(2026, 12, 1)) == [(2026, m) for m in range(1, 13)]


def test_pareto_sorts_by_count_then_label_and_accumulates_to_100_percent():
    rows = pareto({"scratch": 2, "burr": 5, "dent": 2, "crack": 1, "none": 0})
    assert [(label, n) for label, n, _cum in rows] == [("burr", 5), ("dent", 2), ("scratch", 2), ("crack", 1)]
    assert [cum for _label, _n, cum in rows] == pytest.approx([50, 70, 90, 100])
    assert rows[-1][2] == 100


def test_pareto_of_nothing_is_empty():
    assert pareto({}) == []
    assert pareto({"burr": 0}) == []


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())


def _texts(root: ET.Element) -> list[str]:
    return [element.text for element in root.iter(f"{SVG}text")]


def _plot_bars(root: ET.Element) -> dict[str, list[float]]:
    """Heights of the bars inside the plot area, by fill (the legend's swatches lie right of it)."""
    bars: dict[str, list[float]] = {}
    for rect in root.iter(f"{SVG}rect"):
        if "fill:" in rect.get("style", "") and float(rect.get("x")) < qchart.PLOT_X + qchart.PLOT_WIDTH:
            fill = rect.get("style").split("fill:")[1].split(";")[0].strip()
            bars.setdefault(fill, []).append(float(rect.get("height")))
    return bars


def _fill(colour) -> str:
    return "rgb({}%,{}%,{}%)".format(*(int(part * 100) for part in colour.rgb()))  # as renderSVG writes it


def test_monthly_bars_draw_one_bar_per_month_and_grade_with_its_value():
    months = last_12_months(date(2026, 11, 21))
    counts = {(2026, 11): {"A": 2, "C": 3}, (2026, 1): {"B": 1, "C": 1}, (2025, 12): {"A": 4}}
    svg = qchart.to_svg(qchart.monthly_bars(months, counts, "每月问题"))
    root = _parse(svg)
    bars = _plot_bars(root)
    a, b, c = (_fill(qchart.GRADE_COLOURS[grade]) for grade in "ABC")
    unit = qchart.PLOT_HEIGHT / 5  # the highest month has 5 problems
    assert sorted(bars[a]) == pytest.approx([2 * unit, 4 * unit])
    assert bars[b] == pytest.approx([unit])
    assert sorted(bars[c]) == pytest.approx([unit, 3 * unit])
    texts = _texts(root)
    assert "每月问题" in texts
    assert {"1", "2", "3", "4"} <= set(texts)
    assert {"A", "B", "C"} <= set(texts)  # the legend
    assert "2025-12" in texts and "2026-11" in texts


def test_monthly_bars_label_each_non_empty_bar_with_its_count():
    months = [(2026, 10), (2026, 11)]
    drawing = qchart.monthly_bars(months, {(2026, 10): {"A": 7}, (2026, 11): {"C": 6}})
    texts = _texts(_parse(qchart.to_svg(drawing)))
    assert "7" in texts and "6" in texts
    assert texts.count("0") == 1  # the value axis' 0 only: empty segments are not labelled


def test_monthly_bars_with_no_problems_still_render():
    root = _parse(qchart.to_svg(qchart.monthly_bars(last_12_months(date(2026, 11, 1)), {})))
    assert _plot_bars(root) == {}
    assert "2026-11" in _texts(root)


def test_pareto_chart_draws_counts_and_a_cumulative_line_ending_at_100_percent():
    rows = pareto({"焊接不良": 5, "scratch": 3, "a very long failure mode name": 2})
    drawing = qchart.pareto_chart(rows, "失效模式")
    line = next(shape for shape in drawing.contents if isinstance(shape, PolyLine))
    ys = line.points[1::2]
    assert ys == pytest.approx([qchart.PLOT_Y + qchart.PLOT_HEIGHT * p for p in (0.5, 0.8, 1.0)])

    root = _parse(qchart.to_svg(drawing))
    bars = _plot_bars(root)[_fill(qchart.PARETO_BAR)]
    assert bars == pytest.approx([qchart.PLOT_HEIGHT * n / 5 for n in (5, 3, 2)])
    texts = _texts(root)
    assert "失效模式" in texts
    assert "焊接不良" in texts  # Chinese stays text in the SVG, not paths or boxes
    assert "a very long…" in texts
    assert "100%" in texts


def test_an_empty_pareto_says_so():
    texts = _texts(_parse(qchart.to_svg(qchart.pareto_chart([], "类别"))))
    assert "类别" in texts
    assert "No problems" in texts


def test_svg_text_uses_the_printout_font_with_a_browser_fallback():
    svg = qchart.to_svg(qchart.pareto_chart(pareto({"焊接": 1}), "x"))
    assert "font-family: WenQuanYi Micro Hei, sans-serif;" in svg
    assert f"font-family: {qchart.chart_font().name};" not in svg


def test_a_pareto_with_a_limit_keeps_the_biggest_and_puts_the_rest_last_as_one_bar():
    counts = {"burr": 9, "dent": 1, "crack": 2, "scratch": 3, "rust": 1}
    rows = pareto(counts, limit=3, others="others")
    assert [(label, n) for label, n, _cum in rows] == [("burr", 9), ("scratch", 3), ("others", 4)]
    assert [cum for _label, _n, cum in rows] == pytest.approx([56.25, 75, 100])
    # "Others" stays last even when it outweighs the bars before it (the Pareto convention).
    assert [label for label, _n, _cum in pareto(counts, limit=2, others="others")] == ["burr", "others"]
    assert pareto(counts, limit=5) == pareto(counts)  # nothing left over: no "others" bar


@pytest.mark.parametrize(
    ("top", "step"), [(0, 1), (1, 1), (5, 1), (7, 2), (10, 2), (11, 5), (24, 5), (219, 50), (1000, 200), (4321, 1000)]
)
def test_the_value_axis_steps_are_round_numbers(top, step):
    assert qchart.axis_step(top) == step


@pytest.mark.parametrize(
    ("label", "room", "short"),
    [
        ("a very long failure mode name", 12, "a very long…"),
        ("burr", 12, "burr"),
        ("焊接不良", 8, "焊接不良"),  # four characters, eight columns: it fits
        ("轴承座孔径超差", 12, "轴承座孔径…"),  # seven: too wide, five and the ellipsis
        ("O型圈漏装", 6, "O型圈…"),  # 1 + 2 + 2 + the ellipsis
    ],
)
def test_long_labels_are_cut_by_their_width_a_chinese_character_counting_two(label, room, short):
    assert qchart._short(label, room) == short


def test_small_segments_of_a_stacked_month_lose_their_label_but_not_their_bar():
    months = [(2026, 10), (2026, 11)]
    root = _parse(qchart.to_svg(qchart.monthly_bars(months, {(2026, 11): {"A": 1, "C": 200}})))
    texts = _texts(root)
    assert "200" in texts
    assert "1" not in texts  # 1 of 200 is a sliver: its label would overprint the 200's
    assert len(_plot_bars(root)[_fill(qchart.GRADE_COLOURS["A"])]) == 1


def test_a_pareto_of_a_few_bars_keeps_them_narrow_on_screen():
    rows = pareto({"Quality": 3, "Equipment": 1})
    drawing = qchart.pareto_chart(rows, "Categories", qchart.SCREEN)
    chart = next(shape for shape in drawing.contents if hasattr(shape, "categoryAxis"))
    assert chart.width == 2 * qchart.SCREEN.max_slot
    line = next(shape for shape in drawing.contents if isinstance(shape, PolyLine))
    assert line.points[0::2] == pytest.approx([qchart.SCREEN.plot_x + qchart.SCREEN.max_slot * x for x in (0.5, 1.5)])


def test_an_empty_pareto_can_say_why():
    texts = _texts(_parse(qchart.to_svg(qchart.pareto_chart([], "x", empty="No failure mode recorded"))))
    assert "No failure mode recorded" in texts and "No problems" not in texts


def test_an_inline_svg_scales_to_its_box_and_has_its_own_ids_and_name():
    drawing = qchart.pareto_chart(pareto({"burr": 2}), "Failure <modes>", qchart.SCREEN)
    svg = qchart.inline_svg(drawing, "modes", "Failure <modes>")
    assert svg.startswith('<svg width="100%" role="img" aria-label="Failure &lt;modes&gt;" id="modes"')
    assert 'viewBox="0 0 400 280"' in svg
    assert "<?xml" not in svg and "DOCTYPE" not in svg and 'height="280"' not in svg.split(">")[0]
    assert 'id="modes-clip"' in svg and "url(#modes-clip)" in svg and 'id="clip"' not in svg
    assert "<title>Failure &lt;modes&gt;</title>" in svg
    root = _parse(svg)
    assert root.get("viewBox") == "0 0 400 280"
