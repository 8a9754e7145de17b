"""The daily QRQC meeting as its pages read it (issue #5): agenda items with their board
colours, the sign-in sheet by department, the timer, and the people one may name. One query
per list whatever its length; issues.meetings.views renders them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext as _

from issues.common import rights
from issues.common.people import person_label, person_name
from issues.eightd.rules import COLOUR_LETTERS, Colour
from issues.eightd.steps import STEP_LABELS, STEPS, colours_of
from issues.meetings import agenda
from issues.meetings import meeting as verbs
from issues.models import AgendaItem, Attendance, Meeting, Problem, SolvingPolicy
from issues.problems import lifecycle
from issues.problems.flags import age_label, closure_overdue

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import QuerySet

PRESENT_STATES = (Attendance.State.PRESENT, Attendance.State.STAND_IN)
ITEM_RELATED = ("problem__plant", "problem__line__workshop", "problem__owner__profile", "problem__eightd")

COLOUR_CHOICES = tuple(
    (colour, COLOUR_LETTERS[colour]) for colour in (Colour.RED, Colour.YELLOW, Colour.GREEN, Colour.WHITE)
)


@dataclass
class Step:
    step: str
    label: str
    colour: str
    letter: str


@dataclass
class ItemRow:
    """An agenda item as the meeting page shows it."""

    item: AgendaItem
    problem: Problem
    steps: list[Step]
    age: str
    owner: str
    owner_label: str
    overdue: bool
    has_report: bool
    reasons: list[str]
    closed: bool
    finished: bool
    can_close: bool = False
    error: str = ""
    details: list[str] = field(default_factory=list)


def has_report(problem: Problem) -> bool:
    try:
        return problem.eightd is not None
    except ObjectDoesNotExist:
        return False


def item_rows(
    user: User | AnonymousUser, meeting: Meeting, items: Iterable[AgendaItem], now: dt.datetime
) -> list[ItemRow]:
    items = list(items)
    policy = SolvingPolicy.objects.filter(plant_id=meeting.plant_id).first() or SolvingPolicy(plant_id=meeting.plant_id)
    today = verbs.local_day(meeting.plant, now)
    rows = []
    for item in items:
        problem = item.problem
        report = has_report(problem)
        states = {section.code: section.state for section in problem.eightd.sections.all()} if report else None
        if problem.status == Problem.Status.CANCELLED:
            steps = []
        else:
            colours = colours_of(problem, states, policy.needs_eightd(problem.grade))
            steps = steps_of(colours)
        finished = problem.status in Problem.FINISHED
        rows.append(
            ItemRow(
                item=item,
                problem=problem,
                steps=steps,
                age=age_label(now - problem.occurred_at),
                owner=person_name(problem.owner),
                owner_label=person_label(problem.owner),
                overdue=closure_overdue(status=problem.status, due_date=problem.due_date, today=today),
                has_report=report,
                reasons=[str(agenda.GROUP_LABELS.get(reason, reason)) for reason in item.reasons],
                closed=problem.status == Problem.Status.CLOSED,
                finished=finished,
                # Offered where closing is a move the status allows; the verb names any blocker left.
                can_close=lifecycle.allowed(problem.status, Problem.Status.CLOSED) and rights.can_close(user, problem),
            )
        )
    return rows


def items_query(user: User | AnonymousUser, meeting: Meeting) -> QuerySet[AgendaItem]:
    return (
        verbs.items_for(user, meeting)
        .select_related(*ITEM_RELATED)
        .prefetch_related("problem__eightd__sections")
        .order_by("position")
    )


def grouped(rows: list[ItemRow]) -> list[tuple[str, str, list[ItemRow]]]:
    """(group, label, rows) in the agenda's order; an item added by a refresh joins its group."""
    by_group: dict[str, list[ItemRow]] = {}
    for row in rows:
        by_group.setdefault(row.item.group, []).append(row)
    known = [group for group in agenda.GROUPS if group in by_group]
    others = [group for group in by_group if group not in agenda.GROUPS]
    return [(group, str(agenda.GROUP_LABELS.get(group, group)), by_group[group]) for group in known + others]


def sheet(meeting: Meeting, user: User | AnonymousUser) -> dict[str, Any]:
    """The sign-in sheet by department (guests last), the count per state, the reader's row."""
    rows = list(
        meeting.attendances.select_related("person__profile", "stand_in__profile").order_by(
            "department", "role", "person__profile__display_name", "person__username"
        )
    )
    departments = []
    for department in agenda.DEPARTMENTS:
        members = [row for row in rows if row.expected and row.department == department]
        if members:
            departments.append((str(agenda.DEPARTMENT_LABELS[department]), members))
    others = [row for row in rows if row.expected and row.department not in agenda.DEPARTMENTS]
    if others:
        departments.append((_("Others"), others))
    guests = [row for row in rows if not row.expected]
    if guests:
        departments.append((_("Guests"), guests))
    counts = {state: 0 for state in Attendance.State.values}
    for row in rows:
        counts[row.state] += 1
    return {
        "departments": departments,
        "counts": [(Attendance.State(state).label, state, number) for state, number in counts.items() if number],
        # Of those expected: a guest at the board does not make up for an absent director.
        "present": sum(1 for row in rows if row.expected and row.state in PRESENT_STATES),
        "expected": sum(1 for row in rows if row.expected),
        "guests": len(guests),
        "mine": next((row for row in rows if row.person_id == user.pk), None),
    }


def timer(meeting: Meeting, now: dt.datetime) -> dict:
    elapsed = (meeting.ended_at or now) - meeting.started_at
    seconds = max(0, int(elapsed.total_seconds()))
    low, high = agenda.TARGET_MINUTES
    return {
        "state": agenda.timer_state(dt.timedelta(seconds=seconds)),
        "text": f"{seconds // 60}:{seconds % 60:02d}",
        "started_ms": int(meeting.started_at.timestamp() * 1000),
        "now_ms": int(now.timestamp() * 1000),
        "closing_s": low * 60,
        "over_s": high * 60,
        "minutes": seconds // 60,
    }


def steps_of(colours: Mapping[str, Colour]) -> list[Step]:
    """Board cells from a step -> colour mapping (empty for a cancelled problem)."""
    return [
        Step(step, str(STEP_LABELS[step]), colours[step], str(COLOUR_LETTERS[colours[step]]))
        for step in STEPS
        if step in colours
    ]


class Departed(Protocol):
    @property
    def department_label(self) -> str: ...


RowT = TypeVar("RowT", bound=Departed)


def departments_of(rows: Iterable[RowT]) -> list[tuple[str, list[RowT]]]:
    """issues.meetings.minutes attendance rows (already in the sheet's order) grouped under their labels."""
    grouped: dict[str, list[RowT]] = {}
    for row in rows:
        grouped.setdefault(row.department_label or _("Others"), []).append(row)
    return list(grouped.items())
