"""The problem page, put together from what each feature shows of a problem: the report and its
grade, the escalation ladder and containments, the 8D strip, the status card, the meetings'
decisions and the history. The page's view and the actions that show it again with their
errors (containment, status card) all render it from here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from escalation.timeline import problem_context
from issues.common.scope import visible_problems
from issues.eightd.rules import COLOUR_LETTERS
from issues.eightd.steps import STEP_LABELS
from issues.eightd.summary import summary_context
from issues.grading.facts import facts_for
from issues.models import Problem
from issues.problems.card import lifecycle_context

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from escalation.forms import ContainmentForm

# Bookkeeping of the escalation clock, and the checklist the status card already shows in full.
HISTORY_UNSHOWN = ["escalate_at", "alarm_at", "closure_checklist"]
PROBLEM_RELATED = (
    "plant",
    "line__workshop",
    "shift",
    "failure_mode",
    "reported_by",
    "threshold_table",
    "owner__profile",
)


def problem_page(
    request: HttpRequest,
    pk: int,
    *,
    containment_form: ContainmentForm | None = None,
    lifecycle_forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The problem page for a reader who may see the problem (404 otherwise). `containment_form`: a
    bound form with errors, when recording a containment failed; `lifecycle_forms`: the same for
    the actions of the status card (issues.problems.card); `status`: 400 for those."""
    problem = get_object_or_404(visible_problems(request.user).select_related(*PROBLEM_RELATED), pk=pk)
    language = get_language() or "en"
    history = problem.history.select_related("history_user").order_by("-history_date")[:50]
    changes = []
    for record in history:
        previous = record.prev_record
        diff = record.diff_against(previous, excluded_fields=HISTORY_UNSHOWN).changes if previous else []
        changes.append({"record": record, "changes": [_readable_change(change) for change in diff]})
    return render(
        request,
        "issues/problem_detail.html",
        {
            "problem": problem,
            "rules": [(rule, rule.explanation(language)) for rule in problem.grading.rules],
            "explanation": problem.explanation(language),
            "photos": problem.photos.all(),
            "changes": changes,
            "facts": _readable_facts(problem),
            **problem_context(request, problem, containment_form),
            **summary_context(request, problem),
            "lifecycle": lifecycle_context(request, problem, lifecycle_forms),
            "meeting_decisions": _meeting_decisions(problem),
        },
        status=status,
    )


def _meeting_decisions(problem: Problem) -> list:
    """What the daily meetings decided on this problem, newest first (issue #5)."""
    return list(
        problem.agenda_items.exclude(decision="", closure_confirmed_at__isnull=True)
        .select_related("meeting__plant", "meeting__workshop")
        .order_by("-meeting__day", "-discussed_at")[:20]
    )


def _readable_change(change: Any) -> tuple[StrOrPromise, object, object]:
    """(field name, old, new) in the reader's words: a status shows "Closed", not "closed"."""
    # The history records the problem's own columns only.
    field = cast("models.Field[Any, Any]", Problem._meta.get_field(change.field))
    if change.field == "board_status":  # the meeting chair's colours, as words rather than JSON
        return field.verbose_name, _board_status_text(change.old), _board_status_text(change.new)
    labels = dict(field.flatchoices) if field.choices else {}
    return field.verbose_name, labels.get(change.old, change.old), labels.get(change.new, change.new)


def _board_status_text(value) -> str:
    if not isinstance(value, dict):
        return ""
    return ", ".join(
        f"{STEP_LABELS.get(step, step)} {COLOUR_LETTERS.get(colour, colour)}" for step, colour in value.items()
    )


def _readable_facts(problem: Problem) -> list[tuple[StrOrPromise, object]]:
    labels = {fact.name: fact for fact in facts_for(problem.category)}
    rows = []
    for name, value in problem.facts.items():
        fact = labels.get(name)
        shown = _("yes") if value is True else value
        rows.append((fact.label if fact else name, shown))
    return rows
