"""The Q chart's month as table rows of HTML.

Drawn here rather than by the template: 42 cells of template logic took longer than the page's
calendar query. Every value goes in through format_html, which escapes it."""

from __future__ import annotations

import datetime as dt

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from issues.qchart import charts as qchart

# The legend's words, also each day cell's tooltip (docs/meeting.md §The Q chart: general /
# important or critical).
MEANINGS = {
    qchart.GREEN: gettext_lazy("no problem"),
    qchart.YELLOW: gettext_lazy("general problems only (C)"),
    qchart.RED: gettext_lazy("important or critical problem (A or B)"),
}

DAY_LINK = (
    '<a href="{link}" hx-get="{link}" hx-target="#qchart-month" hx-swap="outerHTML" hx-push-url="true"'
    ' title="{title}"{current}><span class="qnum">{number}</span>{counts}</a>'
)
DAY_CELL = '<td class="{css}" data-date="{iso}" data-colour="{colour}"{testid}>{body}</td>'
PAD_CELL = SafeString('<td class="qpad"></td>')
CURRENT = SafeString(' aria-current="date"')
TODAY = SafeString(' data-testid="qchart-today"')


def _day_cell(day: qchart.Day, today: dt.date, chosen: dt.date | None, scope_query: str) -> SafeString:
    iso = day.date.isoformat()
    css = ["qday", f"q-{day.colour or 'future'}"]
    css += (["qtoday"] if day.date == today else []) + (["qselected"] if day.date == chosen else [])
    body = format_html('<span class="qnum">{}</span>', day.date.day)
    if day.colour:
        grades = format_html_join(
            "",
            '<span class="qn">{}{}</span>',
            ((grade, day.counts[grade]) for grade in qchart.GRADES if day.counts.get(grade)),
        )
        body = format_html(
            DAY_LINK,
            link=f"?{scope_query}&day={iso}",
            title=f"{date_format(day.date, 'MONTH_DAY_FORMAT')}: {MEANINGS[day.colour]}",
            current=CURRENT if day.date == chosen else "",
            number=day.date.day,
            counts=format_html('<span class="qcounts">{}</span>', grades) if grades else "",
        )
    return format_html(
        DAY_CELL,
        css=" ".join(css),
        iso=iso,
        colour=day.colour,
        testid=TODAY if day.date == today else "",
        body=body,
    )


def calendar_rows(
    weeks: list[list[qchart.Day | None]], today: dt.date, chosen: dt.date | None, scope_query: str
) -> list[SafeString]:
    """Each week of the calendar as a table row: a cell per day, coloured, with its counts per
    grade and, up to today, a link that lists the day's problems."""
    return [
        format_html(
            "<tr>{}</tr>",
            format_html_join(
                "",
                "{}",
                ((PAD_CELL if day is None else _day_cell(day, today, chosen, scope_query),) for day in week),
            ),
        )
        for week in weeks
    ]
