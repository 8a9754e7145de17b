"""CSV and XLSX exports of problem lists: the columns a quality engineer pastes into reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

if TYPE_CHECKING:
    from issues.models import Lesson, Problem


def problem_rows(problems: Iterable[Problem]) -> Iterator[list[str]]:
    language = get_language() or "en"
    yield [
        _("Number"),
        _("Grade"),
        _("Status"),
        _("Category"),
        _("Plant"),
        _("Workshop"),
        _("Line"),
        _("Shift"),
        _("Occurred at"),
        _("Title"),
        _("Failure mode"),
        _("Cause family"),
        _("QC / QE"),
        _("Why this grade"),
        _("Special team required"),
        _("Reported by"),
        _("Owner"),
        _("Closure due"),
        _("Closed at"),
    ]
    for problem in problems:
        yield [
            problem.number,
            problem.grade,
            problem.get_status_display(),
            problem.get_category_display(),
            str(problem.plant),
            str(problem.line.workshop),
            str(problem.line),
            str(problem.shift or ""),
            timezone.localtime(problem.occurred_at).strftime("%Y-%m-%d %H:%M"),
            problem.title,
            str(problem.failure_mode or ""),
            problem.get_cause_family_display(),
            problem.kind,
            problem.explanation(language),
            _("yes") if problem.special_team_required else "",
            problem.reported_by.get_username(),
            problem.owner.get_username() if problem.owner else "",
            problem.due_date.isoformat() if problem.due_date else "",
            timezone.localtime(problem.closed_at).strftime("%Y-%m-%d %H:%M") if problem.closed_at else "",
        ]


def _safe_cell(value):
    # A cell starting with = + - @ would run as a formula in Excel (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _xlsx_cell(value):
    # openpyxl refuses control characters (a title pasted from a terminal would make the export a 500);
    # drop them first, so "\x01=cmd" cannot turn into a formula after the formula check.
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return _safe_cell(value)


def csv_response(rows: Iterable[Sequence[object]], filename: str) -> HttpResponse:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel opens UTF-8 Chinese correctly only with a BOM
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_safe_cell(value) for value in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(rows: Iterable[Sequence[object]], filename: str) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=filename[:31])
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def lesson_rows(lessons: Iterable[Lesson]) -> Iterator[list[str]]:
    """The lessons-learned library as a sheet (issue #4)."""
    yield [
        _("Learned on"),
        _("Plant"),
        _("Workshop"),
        _("Line"),
        _("Failure mode"),
        _("Product"),
        _("Cause family"),
        _("Title"),
        _("Lesson learned"),
        _("Root cause"),
        _("Actions"),
        _("Problem"),
    ]
    for lesson in lessons:
        yield [
            lesson.learned_on.isoformat(),
            str(lesson.plant),
            str(lesson.line.workshop) if lesson.line else "",
            str(lesson.line or ""),
            str(lesson.failure_mode or ""),
            lesson.product,
            lesson.get_cause_family_display(),
            lesson.title,
            lesson.lesson,
            lesson.root_cause,
            lesson.actions,
            lesson.problem.number,
        ]
