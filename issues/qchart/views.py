"""The Q chart page (issue #5, docs/meeting.md §The Q chart): a workshop's (or plant's) month calendar coloured
by each day's worst grade, the day's problems on a click, and below it the last 12 months by
grade and the month's Pareto charts of failure modes and categories.

    /qchart/?workshop=3&month=2026-11            the calendar of a month
    /qchart/?plant=1&day=2026-11-21              a day's problems under the calendar

Everything is counted in the database (issues.qchart.data) and drawn by issues.qchart.charts, so the
page costs the same queries for 5 problems as for 100,000. Counts only include problems the
reader may see. A day link asked for by htmx returns the calendar section alone."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from issues.common.ids import parse_id
from issues.common.scope import scope_of, visible_lines
from issues.models import Line, Plant, Problem, Workshop
from issues.problems.flags import flag
from issues.problems.links import problem_url_format
from issues.qchart import charts as qchart
from issues.qchart import data as qchart_data
from issues.qchart import drawing
from issues.qchart.drawing import month_param
from issues.qchart.rows import MEANINGS, calendar_rows

MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
FIRST_YEAR = 2000  # no plant logged problems earlier; also keeps month arithmetic far from year 1 and 9999


@dataclass(frozen=True)
class Subject:
    """Whose chart: a workshop, or a whole plant (workshop None)."""

    plant: Plant
    workshop: Workshop | None = None

    @property
    def query(self) -> dict[str, int]:
        return {"workshop": self.workshop.pk} if self.workshop else {"plant": self.plant.pk}

    def covers(self, line: Line) -> bool:
        if self.workshop:
            return line.workshop_id == self.workshop.pk
        return line.workshop.plant_id == self.plant.pk

    @property
    def name(self) -> str:
        return f"{self.workshop.name} · {self.plant.name}" if self.workshop else self.plant.name


def _labelled(problems: list[Problem]) -> list[Problem]:
    """Each problem's link, local time, and grade, category and status in words, worked out
    here once per page: Django's get_FOO_display() hashes every choice's lazy translation on each
    call, and 50 problems' worth of it (or of {% url %}) took longer than the page's queries."""
    labels = {
        name: {value: str(label) for value, label in Problem._meta.get_field(name).flatchoices}
        for name in ("grade", "category", "status")
    }
    url = problem_url_format()
    for problem in problems:
        problem.url = url.format(problem.pk)
        problem.time = f"{timezone.localtime(problem.occurred_at):%H:%M}"
        problem.grade_label = labels["grade"].get(problem.grade, problem.grade)
        problem.category_label = labels["category"].get(problem.category, problem.category)
        problem.status_label = labels["status"].get(problem.status, problem.status)
    return problems


def current_time() -> dt.datetime:
    """The clock, in one place so a test can fix "today"."""
    return timezone.now()


def _echo(value: str) -> str:
    """A bad parameter as the notice quotes it: short, whatever was pasted into the address."""
    return value if len(value) <= 30 else value[:29] + "…"


def _workshops(lines: list[Line]) -> list[Workshop]:
    """The workshops of the reader's lines, in the lines' order (plant, workshop, code)."""
    return list({line.workshop_id: line.workshop for line in lines}.values())


def _default_subject(user, lines: list[Line]) -> Subject | None:
    """The reader's own level (the Q chart is kept per workshop, docs/meeting.md §The Q chart): the workshop of
    their home line, else of their workshop or line role; a plant-wide role gets the plant's chart."""
    by_id = {line.pk: line for line in lines}
    profile = getattr(user, "profile", None)  # cached on the user: base.html's header reads it too
    home = by_id.get(profile.home_line_id) if profile else None
    if home:
        return Subject(home.workshop.plant, home.workshop)
    scope = scope_of(user)
    for line in lines:
        if line.pk in scope.line_ids or line.workshop_id in scope.workshop_ids:
            return Subject(line.workshop.plant, line.workshop)
    return Subject(lines[0].workshop.plant) if lines else None


def _subject(request, lines: list[Line], notices: list[str]) -> Subject | None:
    """The chart asked for in the URL. An id outside the reader's scope is a 404 (as for someone
    else's problem); a malformed one is reported and the reader's default chart is shown."""
    wanted_workshop, wanted_plant = request.GET.get("workshop", ""), request.GET.get("plant", "")
    if wanted_workshop:
        pk = parse_id(wanted_workshop)
        if pk is None:
            notices.append(
                _("“%(value)s” is not a workshop; showing your default chart.") % {"value": _echo(wanted_workshop)}
            )
        else:
            workshop = next((line.workshop for line in lines if line.workshop_id == pk), None)
            if workshop is None:
                raise Http404
            return Subject(workshop.plant, workshop)
    elif wanted_plant:
        pk = parse_id(wanted_plant)
        if pk is None:
            notices.append(
                _("“%(value)s” is not a plant; showing your default chart.") % {"value": _echo(wanted_plant)}
            )
        else:
            plant = next((line.workshop.plant for line in lines if line.workshop.plant_id == pk), None)
            if plant is None:
                raise Http404
            return Subject(plant)
    return _default_subject(request.user, lines)


def _problems(user, subject: Subject, lines: list[Line]):
    """The problems the chart counts: the reader's visible ones (Problem.objects.visible_to) of
    the subject. Said with the visible lines already loaded, so PostgreSQL filters the plant's
    (plant, occurred_at) index range without joining line and workshop for every problem."""
    problems = Problem.objects.filter(plant_id=subject.plant.pk)
    scope = scope_of(user)
    if subject.workshop is None and (scope.everything or subject.plant.pk in scope.plant_ids):
        return problems  # the whole plant is visible: no line to leave out
    return problems.filter(line_id__in=[line.pk for line in lines if subject.covers(line)])


def _month_and_day(request, today: dt.date, notices: list[str]) -> tuple[int, int, dt.date | None]:
    """The month shown and the day whose problems are listed (its month wins over `month`)."""
    day = None
    wanted_day = request.GET.get("day", "")
    if wanted_day:
        try:
            day = dt.date.fromisoformat(wanted_day)
        except ValueError:
            day = None
        if day is None or not FIRST_YEAR <= day.year <= today.year + 1:
            notices.append(_("“%(value)s” is not a day (use YYYY-MM-DD).") % {"value": _echo(wanted_day)})
            day = None
    if day:
        return day.year, day.month, day
    wanted = request.GET.get("month", "")
    match = MONTH.match(wanted)
    if match:
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and FIRST_YEAR <= year <= today.year + 1:
            return year, month, None
    if wanted:
        notices.append(_("“%(value)s” is not a month (use YYYY-MM); showing this month.") % {"value": _echo(wanted)})
    return today.year, today.month, None


def _url(subject: Subject, **params) -> str:
    return f"{reverse('qchart:index')}?{urlencode({**subject.query, **params})}"


def _subjects(workshops: list[Workshop], current: Subject, month: str) -> list[dict]:
    """The chips to switch charts: per plant, the whole plant then each workshop."""
    groups: dict[int, dict] = {}
    for workshop in workshops:
        group = groups.setdefault(
            workshop.plant_id,
            {
                "plant": workshop.plant,
                "url": _url(Subject(workshop.plant), month=month),
                "current": current.workshop is None and current.plant.pk == workshop.plant_id,
                "workshops": [],
            },
        )
        group["workshops"].append(
            {
                "workshop": workshop,
                "url": _url(Subject(workshop.plant, workshop), month=month),
                "current": current.workshop is not None and current.workshop.pk == workshop.pk,
            }
        )
    return list(groups.values())


def _summary(weeks: list[list[qchart.Day | None]]) -> dict:
    """The month at a glance, from the calendar's own counts: days per colour, problems per grade."""
    days = [day for week in weeks for day in week if day and day.colour]
    grades = {grade: sum(day.counts.get(grade, 0) for day in days) for grade in qchart.GRADES}
    return {
        "days": {
            colour: sum(day.colour == colour for day in days) for colour in (qchart.RED, qchart.YELLOW, qchart.GREEN)
        },
        "grades": grades,
        "total": sum(grades.values()),
    }


@permission_required("issues.view_problem", raise_exception=True)
def qchart_page(request):
    notices: list[str] = []
    lines = list(visible_lines(request.user).order_by("workshop__plant__code", "workshop__code", "code"))
    subject = _subject(request, lines, notices)
    if subject is None:
        return render(request, "issues/qchart/page.html", {"subject": None, "notices": notices})
    zone = subject.plant.zone
    now = current_time()
    today = now.astimezone(zone).date()
    year, month, day = _month_and_day(request, today, notices)

    problems = _problems(request.user, subject, lines)
    partial = bool(request.htmx) and not request.htmx.history_restore_request  # a day clicked: the calendar only
    if partial:
        by_day, by_month = qchart_data.day_counts(problems, year, month, zone), {}
    else:
        by_day, by_month = qchart_data.calendar_counts(problems, year, month, zone)
    weeks = qchart.month_calendar(year, month, by_day, today)
    selected = next((d for week in weeks for d in week if d and d.date == day), None)
    listed = _labelled(flag(qchart_data.day_problems(problems, day, zone), now)) if day else []

    scope = scope_of(request.user)
    # A line-scoped operator looking at the plant's chart sees only their own lines' problems: say so.
    whole = scope.everything or subject.plant.pk in scope.plant_ids
    whole = whole or (subject.workshop is not None and subject.workshop.pk in scope.workshop_ids)
    shown = month_param(year, month)
    this_month = (today.year, today.month)
    after = qchart.next_month(year, month)
    list_query = {**subject.query}
    if day:
        list_query.update(occurred_after=day.isoformat(), occurred_before=day.isoformat())
    context = {
        "subject": subject,
        "notices": notices,
        "today": today,
        "first": dt.date(year, month, 1),
        "month": shown,
        "weeks": calendar_rows(weeks, today, day, urlencode(subject.query)),
        "meanings": MEANINGS,
        "weekdays": [WEEKDAYS_ABBR[index] for index in range(7)],
        "selected": selected,
        "day": day,
        "day_problems": listed,
        "more_on_day": (selected.total - len(listed)) if selected else 0,
        "day_list_url": f"{reverse('problems:list')}?{urlencode(list_query)}",
        "scope_query": urlencode(subject.query),
        "month_url": _url(subject, month=shown),
        "previous_url": _url(subject, month=month_param(*qchart.previous_month(year, month))),
        "next_url": _url(subject, month=month_param(*after)) if after <= this_month else "",
        "this_month_url": _url(subject) if (year, month) != this_month else "",
        "partial_scope": not whole,
    }
    if partial:
        response = render(request, "issues/qchart/_month.html", context)
        # The same address answers a fragment or the page: a browser must not cache one for the other.
        patch_vary_headers(response, ["HX-Request"])
        return response
    context.update(drawing.month_charts(problems, year, month, zone, by_month), summary=_summary(weeks))
    last_day = dt.date(*after, 1) - dt.timedelta(days=1)
    month_query = {**subject.query, "occurred_after": f"{shown}-01", "occurred_before": last_day.isoformat()}
    context["month_list_url"] = f"{reverse('problems:list')}?{urlencode(month_query)}"
    context["subjects"] = _subjects(_workshops(lines), subject, shown)
    response = render(request, "issues/qchart/page.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response
