"""The daily QRQC board's query layer (DOMAIN.md §5): which problems are on it, in which
order, and the R/Y/G/N-A colour of each step.

A step's colour comes from the problem's 8D sections when it has a report:
containment from D0–D3, root cause from D4, actions from D5 (the actions chosen),
verification from D6 (implemented and validated), closure from D7 and D8, green only once
the problem is closed. Without a report the colour follows the problem's status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.translation import gettext_lazy

from issues.common.scope import visible_problems
from issues.eightd import Colour
from issues.models import Problem, Section, SolvingPolicy
from issues.models.plant import bilingual_name

STEPS = ("containment", "root_cause", "actions", "verification", "closure")
STEP_LABELS = {
    "containment": gettext_lazy("Containment"),
    "root_cause": gettext_lazy("Root cause"),
    "actions": gettext_lazy("Actions"),
    "verification": gettext_lazy("Verification"),
    "closure": gettext_lazy("Closure"),
}
STEP_SECTIONS = {
    "containment": ("D0", "D1", "D2", "D3"),
    "root_cause": ("D4",),
    "actions": ("D5",),
    "verification": ("D6",),
    "closure": ("D7", "D8"),
}
WINDOW = dt.timedelta(hours=24)
NEW = dt.timedelta(hours=1)  # a problem logged this recently is highlighted: nobody has seen it yet
NOT_ESCALATED = 5  # Problem.escalation_level before any tier fired
BOARD_ORDER = ("grade", "occurred_at", "id")  # A first, then the oldest
GRADE_COUNTS = {"A": "a", "B": "b", "C": "c"}  # board_counts' key per grade

Status = Problem.Status
# The step a status is working on; the steps before it are done (green).
STATUS_STEP = {
    Status.OPEN: "containment",
    Status.CONTAINED: "root_cause",
    Status.ANALYSED: "actions",
    Status.ACTING: "actions",
    Status.VERIFYING: "verification",
}
# Statuses whose step has started (yellow) rather than merely being next (red).
IN_PROGRESS = {Status.ACTING, Status.VERIFYING}
DONE = {"accepted", "na"}


def _sections_colour(states: Iterable[str]) -> Colour:
    states = list(states)
    if all(state == "na" for state in states):
        return Colour.WHITE
    if all(state in DONE for state in states):
        return Colour.GREEN
    if any(state != "todo" for state in states):
        return Colour.YELLOW
    return Colour.RED


def _from_sections(status: str, states: Mapping[str, str]) -> dict[str, Colour]:
    colours = {
        step: _sections_colour(states.get(code, "todo") for code in codes) for step, codes in STEP_SECTIONS.items()
    }
    if colours["closure"] == Colour.GREEN and status != Status.CLOSED:
        colours["closure"] = Colour.YELLOW  # answered, but the quality department has not closed yet
    return colours


def _from_status(status: str, contained: bool, needs_eightd: bool) -> dict[str, Colour]:
    if status == Status.CLOSED:
        colours = dict.fromkeys(STEPS, Colour.GREEN)
    else:
        current = STEPS.index(STATUS_STEP[status])
        colours = {step: Colour.GREEN if index < current else Colour.RED for index, step in enumerate(STEPS)}
        if status in IN_PROGRESS:
            colours[STEPS[current]] = Colour.YELLOW
        if contained:  # a reopened problem keeps its containment
            colours["containment"] = Colour.GREEN
    if not needs_eightd and status not in IN_PROGRESS:
        # Such a problem closes from contained or analysed with a cause note: no actions to verify.
        colours["actions"] = colours["verification"] = Colour.WHITE
    return colours


def step_colours(
    status: str,
    contained: bool,
    section_states: Mapping[str, str] | None,
    needs_eightd: bool,
    board_status: Mapping[str, str] | None = None,
) -> dict[str, Colour]:
    """Colour per step of STEPS. `section_states` maps D0..D8 to Section.State values, None
    when the problem has no 8D report. Without one, `board_status` (what the meeting's chair
    set, Problem.board_status) overrides the colours the status gives; closure turns green only
    when the problem is closed. Cancelled problems are not on the board."""
    if status == Status.CANCELLED:
        raise ValueError("cancelled problems are not on the board")
    if section_states:
        return _from_sections(status, section_states)
    colours = _from_status(status, contained, needs_eightd)
    for step, colour in (board_status or {}).items():
        if step in colours and colour in Colour.__members__.values():
            colours[step] = Colour(colour)
    if colours["closure"] == Colour.GREEN and status != Status.CLOSED:
        colours["closure"] = Colour.YELLOW
    return colours


def colours_of(problem, section_states: Mapping[str, str] | None, needs_eightd: bool) -> dict[str, Colour]:
    """step_colours for a problem row (live, or its historical row in the minutes)."""
    return step_colours(
        problem.status, problem.contained_at is not None, section_states, needs_eightd, problem.board_status
    )


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
        return self.owner_display_name or self.owner_username or ""


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
        return self.owner_name == "" and self.problem.status != Status.CLOSED


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


def board_query(user, *, plant=None, workshop=None, line=None, now: dt.datetime):
    """Problems of the past 24 hours and every open older one, graded A first, oldest first.
    An older problem closed in the past 24 hours stays too, so the meeting sees the closure."""
    since = now - WINDOW
    problems = (
        visible_problems(user)
        .exclude(status=Status.CANCELLED)
        # Written as the index problem_open's condition, so that PostgreSQL uses it.
        .filter(Q(occurred_at__gte=since) | Q(closed_at__gte=since) | ~Q(status__in=[Status.CLOSED, Status.CANCELLED]))
    )
    if plant is not None:
        problems = problems.filter(plant=plant)
    if workshop is not None:
        problems = problems.filter(line__workshop=workshop)
    if line is not None:
        problems = problems.filter(line=line)
    return problems.order_by(*BOARD_ORDER)


def rows_for(problems, *, now: dt.datetime) -> list[BoardRow]:
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
                overdue=problem.status != Status.CLOSED
                and problem.due_date is not None
                and problem.due_date < today[problem.plant_timezone],
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


def board_entries(problems) -> list[BoardEntry]:
    """The entries of a board_query (filtered or not), in its order."""
    return [BoardEntry(*values) for values in problems.values_list(*ENTRY_VALUES)]


def page_rows(entries: Sequence[BoardEntry], start: int, stop: int, *, now: dt.datetime) -> list[BoardRow]:
    """Rows `start` to `stop` of the board whose `entries` are given."""
    ids = [entry.pk for entry in entries[start:stop]]
    # The ids came through the reader's scope and filters: the page's own query need not repeat them.
    return rows_for(Problem.objects.filter(pk__in=ids).order_by(*BOARD_ORDER), now=now) if ids else []


def board_rows(user, *, plant=None, workshop=None, line=None, now: dt.datetime) -> list[BoardRow]:
    return rows_for(board_query(user, plant=plant, workshop=workshop, line=line, now=now), now=now)


# --- what the board's header shows ---------------------------------------------------------
def board_counts(entries: Iterable[BoardEntry], *, now: dt.datetime) -> dict[str, int]:
    """Per grade, open, overdue (closure date before today in the problem's plant) and without an owner."""
    counts = dict.fromkeys(("total", "a", "b", "c", "open", "overdue", "no_owner"), 0)
    today: dict[str, dt.date] = {}
    for entry in entries:
        counts["total"] += 1
        if entry.grade in GRADE_COUNTS:
            counts[GRADE_COUNTS[entry.grade]] += 1
        if entry.status == Status.CLOSED:
            continue
        counts["open"] += 1
        counts["no_owner"] += entry.owner_id is None
        if entry.due_date is not None:
            zone = entry.plant_timezone
            if zone not in today:
                today[zone] = now.astimezone(ZoneInfo(zone)).date()
            counts["overdue"] += entry.due_date < today[zone]
    return counts


def latest_problem(entries: Iterable[BoardEntry]) -> BoardEntry | None:
    """The problem logged last on the board, whenever it occurred: what a TV announces."""
    return max(entries, key=lambda entry: (entry.reported_at, entry.pk), default=None)
