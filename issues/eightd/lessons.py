"""Reading the lessons-learned library and reusing earlier work (issue #4): the library page's
base queryset, the "already known?" matches at intake, and the earlier 8D reports a team may
copy from, ranked by how close they are to this problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Case, F, IntegerField, JSONField, OuterRef, Q, QuerySet, Subquery, Value, When

from issues.common.scope import can_see_line, visible_lessons, visible_problems
from issues.models import EightDReport, Lesson, Line, Problem, Section
from issues.problems.intake import failure_mode_named

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Enough to recognise a problem at intake; the library holds the rest.
ALREADY_KNOWN_LIMIT = 5


def library(user: User | AnonymousUser) -> QuerySet[Lesson]:
    """The lessons a user may read: the plant's library is open to everyone in the plant."""
    return visible_lessons(user).select_related("plant", "line__workshop", "failure_mode", "problem__line__workshop")


def mark_readable(user: User | AnonymousUser, lessons: list[Lesson]) -> list[Lesson]:
    """Set `problem_visible` on each lesson: a line-scoped reader reads the whole plant's
    library, but the problem page of another line would answer 404, so no link is shown."""
    for lesson in lessons:
        lesson.problem_visible = can_see_line(user, lesson.problem.line)
    return lessons


@dataclass
class AlreadyKnown:
    lessons: list[Lesson] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.lessons or self.problems)


def already_known(line: Line, failure_mode_text: str) -> AlreadyKnown:
    """Lessons of the failure mode in the line's plant (this line first) and the open problems
    of the failure mode on this line. `line` must be one the user may see: the plant's library
    and that line's problems are then all in their scope, so no scope filter is needed here.
    An unknown failure mode costs its name lookup only; a known one adds one query per list,
    both on an index (lesson_failure_mode, problem_recurrence)."""
    mode = failure_mode_named(line.workshop.plant, failure_mode_text, create=False)
    if mode is None:
        return AlreadyKnown()
    this_line_first = Case(When(line_id=line.pk, then=Value(0)), default=Value(1), output_field=IntegerField())
    lessons = (
        Lesson.objects.filter(plant_id=mode.plant_id, failure_mode=mode)
        .select_related("line", "problem")
        .annotate(other_line=this_line_first)
        .order_by("other_line", "-learned_on", "-id")[:ALREADY_KNOWN_LIMIT]
    )
    problems = Problem.objects.open().filter(line=line, failure_mode=mode).order_by("-occurred_at", "-id")
    return AlreadyKnown(lessons=list(lessons), problems=list(problems[:ALREADY_KNOWN_LIMIT]))


def copy_candidates(user: User | AnonymousUser, report: EightDReport) -> QuerySet[EightDReport]:
    """Earlier 8D reports of the same plant that the user may see, closest first: same failure
    mode, then same line, then same cause family; the most recently closed first within each.
    Each carries `d4` (its root-cause answer) and the three `same_*` flags (0 = same)."""
    problem = report.problem
    visible = visible_problems(user).filter(plant_id=problem.plant_id).values("pk")
    d4 = Section.objects.filter(report=OuterRef("pk"), code="D4").values("content")[:1]
    return (
        EightDReport.objects.filter(problem__in=visible)
        .exclude(pk=report.pk)
        .select_related("problem__line")
        .annotate(
            d4=Subquery(d4, output_field=JSONField()),
            same_failure_mode=_same("problem__failure_mode_id", problem.failure_mode_id),
            same_line=_same("problem__line_id", problem.line_id),
            same_cause_family=_same("problem__cause_family", problem.cause_family),
        )
        .order_by(
            "same_failure_mode",
            "same_line",
            "same_cause_family",
            F("problem__closed_at").desc(nulls_last=True),  # open ones after the closed (PostgreSQL puts NULL first)
            "-problem__occurred_at",
            "-pk",
        )
    )


def _same(path: str, value: object) -> Case | Value:
    """0 when the candidate's `path` equals `value`; an unknown value (None, "") matches nothing,
    so problems without a failure mode do not rank as the same failure mode."""
    if value in (None, ""):
        return Value(1, output_field=IntegerField())
    return Case(When(Q(**{path: value}), then=Value(0)), default=Value(1), output_field=IntegerField())


def search_candidates(candidates: QuerySet[EightDReport], text: str) -> QuerySet[EightDReport]:
    for word in text.split()[:5]:
        candidates = candidates.filter(Q(problem__number__icontains=word) | Q(problem__title__icontains=word))
    return candidates


def root_cause_excerpt(d4: dict | None, length: int = 200) -> str:
    """Why it was made and why it escaped, shortened for the candidates table."""
    d4 = d4 or {}
    causes = (d4.get("occurrence_cause"), d4.get("escape_cause"))
    text = " / ".join(str(cause).strip() for cause in causes if cause)
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
