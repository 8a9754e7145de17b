"""The daily QRQC board's queries: which problems are on it, in which order, with the colour of
each step (issues.eightd.steps) and the counts of its header."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from issues.common.scope import visible_problems
from issues.eightd.rules import Colour
from issues.eightd.steps import colours_of
from issues.models import Problem, Section, SolvingPolicy
from issues.models.plant import bilingual_name, shown_name
from issues.problems.flags import closure_overdue

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from issues.models import Line, Plant, Workshop

Status = Problem.Status
WINDOW = dt.timedelta(hours=24)
NEW = dt.timedelta(hours=1)  # a problem logged this recently is highlighted: nobody has seen it yet
NOT_ESCALATED = 5  # Problem.escalation_level before any tier fired
BOARD_ORDER = ("grade", "occurred_at", "id")  # A first, then the oldest
GRADE_COUNTS = {"A": "a", "B": "b", "C": "c"}  # board_counts' key per grade


@dataclass(frozen=True, slots=True)
class BoardProblem:
    """What the board shows of a problem, read as plain values: building 50 Problem instances
    with their plant, line, workshop, owner and profile cost more than the rest of the page."""

    pk: int
    number: str
    grade: str
    category: str
    title: str
    status: str
    occurred_at: dt.datetime
    reported_at: dt.datetime
    contained_at: dt.datetime | None
    due_date: dt.date | None
    escalation_level: int
    board_status: dict
    plant_id: int
    plant_timezone: str
    line_name_en: str
    line_name_zh: str
    owner_username: str | None
    owner_display_name: str | None

    @property
    def line(self) -> str:
        return bilingual_name(self.line_name_en, self.line_name_zh)

    @property
    def owner_name(self) -> str:
        """As Profile.__str__ says it; "" without an owner."""
        return shown_name(self.owner_display_name, self.owner_username) if self.owner_username else ""


# Problem.values() names of BoardProblem's fields, in its order.
BOARD_VALUES = (
    "pk",
    "number",
    "grade",
    "category",
    "title",
    "status",
    "occurred_at",
    "reported_at",
    "contained_at",
    "due_date",
    "escalation_level",
    "board_status",
    "plant_id",
    "plant__timezone",
    "line__name_en",
    "line__name_zh",
    "owner__username",
    "owner__profile__display_name",
)


@dataclass(frozen=True)
class BoardRow:
    problem: BoardProblem
    age: dt.timedelta
    due_date: dt.date | None
    overdue: bool
    escalation_level: int
    colours: dict[str, Colour]
    new: bool = False  # logged within the hour: the board highlights it

    @property
    def owner_name(self) -> str:
        return self.problem.owner_name

    @property
    def escalated(self) -> bool:
        return self.escalation_level < NOT_ESCALATED

    @property
    def needs_owner(self) -> bool:
        return self.owner_name == "" and self.problem.status not in Problem.FINISHED


def section_states(problem_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Problem id -> {D0..D8: state} for the problems that have an 8D report, in one query of
    plain tuples: building ~450 Section objects for a page of 50 rows cost more than the query."""
    states: dict[int, dict[str, str]] = {}
    rows = Section.objects.filter(report__problem_id__in=list(problem_ids)).values_list(
        "report__problem_id", "code", "state"
    )
    for problem_id, code, state in rows.order_by():
        states.setdefault(problem_id, {})[code] = state
    return states


def board_query(
    user: User | AnonymousUser,
    *,
    plant: Plant | None = None,
    workshop: Workshop | None = None,
    line: Line | None = None,
    now: dt.datetime,
) -> QuerySet[Problem]:
    """Problems of the past 24 hours and every open older one, graded A first, oldest first.
    An older problem closed in the past 24 hours stays too, so the meeting sees the closure."""
    since = now - WINDOW
    problems = (
        visible_problems(user)
        .exclude(status=Status.CANCELLED)
        # Written as the index problem_open's condition, so that PostgreSQL uses it.
        .filter(Q(occurred_at__gte=since) | Q(closed_at__gte=since) | ~Q(status__in=Problem.FINISHED))
    )
    if plant is not None:
        problems = problems.filter(plant=plant)
    if workshop is not None:
        problems = problems.filter(line__workshop=workshop)
    if line is not None:
        problems = problems.filter(line=line)
    return problems.order_by(*BOARD_ORDER)


def rows_for(problems: QuerySet[Problem], *, now: dt.datetime) -> list[BoardRow]:
    """Board rows for a board_query (or a page of it), in its order: three queries, for the
    problems, their 8D sections and the plants' solving policies, whatever their number."""
    loaded = [BoardProblem(*values) for values in problems.values_list(*BOARD_VALUES)]
    if not loaded:
        return []
    plant_ids = {problem.plant_id for problem in loaded}
    policies = {policy.plant_id: policy for policy in SolvingPolicy.objects.filter(plant_id__in=plant_ids)}
    states = section_states(problem.pk for problem in loaded)
    today = {zone: now.astimezone(ZoneInfo(zone)).date() for zone in {problem.plant_timezone for problem in loaded}}
    rows = []
    for problem in loaded:
        # A plant without a stored policy has the default one (lifecycle.policy_for seeds it).
        policy = policies.get(problem.plant_id) or SolvingPolicy(plant_id=problem.plant_id)
        rows.append(
            BoardRow(
                problem=problem,
                age=now - problem.occurred_at,
                due_date=problem.due_date,
                overdue=closure_overdue(
                    status=problem.status, due_date=problem.due_date, today=today[problem.plant_timezone]
                ),
                escalation_level=problem.escalation_level,
                colours=colours_of(problem, states.get(problem.pk), policy.needs_eightd(problem.grade)),
                # Logged, not occurred: a problem reported three hours late is news all the same.
                new=now - problem.reported_at < NEW,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class BoardEntry:
    """A problem on the board as its header and pager see it. All of them are read in one narrow
    query (a board holds the open problems and a day's new ones: hundreds, not the history), and
    the counts, the newest problem and a page's ids are worked out from it: three aggregate and
    limit queries each compiled the scope and the 24-hour window again, 10 ms of every poll."""

    pk: int
    number: str
    title: str
    grade: str
    status: str
    owner_id: int | None
    due_date: dt.date | None
    plant_timezone: str
    reported_at: dt.datetime


ENTRY_VALUES = ("pk", "number", "title", "grade", "status", "owner_id", "due_date", "plant__timezone", "reported_at")


def board_entries(problems: QuerySet[Problem]) -> list[BoardEntry]:
    """The entries of a board_query (filtered or not), in its order."""
    return [BoardEntry(*values) for values in problems.values_list(*ENTRY_VALUES)]


def page_rows(entries: Sequence[BoardEntry], start: int, stop: int, *, now: dt.datetime) -> list[BoardRow]:
    """Rows `start` to `stop` of the board whose `entries` are given."""
    ids = [entry.pk for entry in entries[start:stop]]
    # The ids came through the reader's scope and filters: the page's own query need not repeat them.
    return rows_for(Problem.objects.filter(pk__in=ids).order_by(*BOARD_ORDER), now=now) if ids else []


# --- what the board's header shows ---------------------------------------------------------
def board_counts(entries: Iterable[BoardEntry], *, now: dt.datetime) -> dict[str, int]:
    """Per grade, open, overdue (closure date before today in the problem's plant) and without an owner."""
    counts = dict.fromkeys(("total", "a", "b", "c", "open", "overdue", "no_owner"), 0)
    today: dict[str, dt.date] = {}
    for entry in entries:
        counts["total"] += 1
        if entry.grade in GRADE_COUNTS:
            counts[GRADE_COUNTS[entry.grade]] += 1
        if entry.status in Problem.FINISHED:
            continue
        counts["open"] += 1
        counts["no_owner"] += entry.owner_id is None
        if entry.due_date is not None:
            zone = entry.plant_timezone
            if zone not in today:
                today[zone] = now.astimezone(ZoneInfo(zone)).date()
            counts["overdue"] += closure_overdue(status=entry.status, due_date=entry.due_date, today=today[zone])
    return counts


def latest_problem(entries: Iterable[BoardEntry]) -> BoardEntry | None:
    """The problem logged last on the board, whenever it occurred: what a TV announces."""
    return max(entries, key=lambda entry: (entry.reported_at, entry.pk), default=None)
