"""An 8D report's sections as rows with their colour and timing: the report's table, the strip
on the problem page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy

from issues.common import rights
from issues.eightd import rules as eightd
from issues.eightd.rules import COLOUR_LETTERS, Colour, Timing
from issues.models import Problem, Section, SectionCode
from issues.problems import lifecycle

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django_stubs_ext import StrOrPromise

TIMING_LABELS = {
    Timing.ANSWERED: gettext_lazy("Answered"),
    Timing.NOT_APPLICABLE: gettext_lazy("Not applicable"),
    Timing.ON_TIME: gettext_lazy("On time"),
    Timing.DUE_SOON: gettext_lazy("Due soon"),
    Timing.OVERDUE: gettext_lazy("Overdue"),
}


@dataclass(frozen=True)
class Row:
    """One section as the report table and the strips show it."""

    section: Section
    title: StrOrPromise
    colour: Colour
    letter: StrOrPromise
    timing: Timing
    timing_label: StrOrPromise


def rows_of(sections_: list[Section], problem: Problem, now: dt.datetime) -> list[Row]:
    due_soon = dt.timedelta(hours=lifecycle.policy_for(problem).due_soon_hours)
    rows = []
    for section in sections_:
        colour = eightd.board_colour(section.state)
        timing = eightd.timing(section.state, section.due_at, now, due_soon)
        rows.append(
            Row(section, SectionCode(section.code).label, colour, COLOUR_LETTERS[colour], timing, TIMING_LABELS[timing])
        )
    return rows


def summary_context(request: HttpRequest, problem: Problem) -> dict[str, Any]:
    """The D0–D8 strip on the problem page (issues.problems.page): one query for the
    sections; the policy and the rights only when they are needed."""
    found = list(Section.objects.filter(report__problem=problem).order_by("code"))
    if found:
        return {"eightd_strip": rows_of(found, problem, timezone.now())}
    return {
        "eightd_strip": [],
        "eightd_needed": problem.status not in Problem.FINISHED and lifecycle.needs_eightd(problem),
        "eightd_can_start": problem.status not in Problem.FINISHED and rights.can_start_report(request.user, problem),
    }
