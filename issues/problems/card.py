"""The "Status and owner" card on the problem page: the lifecycle path, owner and closure date,
the manual stages of a problem without an 8D, closing with the D7 checklist, cancelling as a
duplicate and reopening. Each form comes back bound, with its errors, when an action fails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy

from issues.common import rights
from issues.common.people import people_of
from issues.common.scope import visible_problems
from issues.eightd import rules as eightd
from issues.eightd.rules import CHECKLIST, DOCUMENTS, UPDATED
from issues.models import EightDReport, Problem
from issues.problems import lifecycle
from issues.problems.flags import closure_overdue, days_without_owner
from issues.problems.forms import DOCUMENT_CHOICES, AssignOwnerForm, CloseForm, DuplicateForm, NoteForm

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.http import HttpRequest, QueryDict
    from django_stubs_ext import StrOrPromise

Status = Problem.Status


def path_of(status: str) -> list[dict]:
    """The lifecycle path (open … closed), each step done, current or still to come."""
    if status not in eightd.ORDER:
        return []
    current = eightd.ORDER.index(status)
    return [
        {"label": Status(step).label, "state": "done" if i < current else "current" if i == current else "todo"}
        for i, step in enumerate(eightd.ORDER)
    ]


@dataclass(frozen=True)
class Stage:
    action: str  # in the URL
    source: str
    target: str
    button: StrOrPromise
    note_label: StrOrPromise | None  # the text the verb needs, if any
    verb: Callable[[Problem, User, str], Problem]


STAGES = (
    Stage(
        "cause",
        Status.CONTAINED,
        Status.ANALYSED,
        gettext_lazy("Root cause found"),
        gettext_lazy("Cause note"),
        lambda problem, user, text: lifecycle.record_cause(problem, user=user, note=text),
    ),
    Stage(
        "actions",
        Status.ANALYSED,
        Status.ACTING,
        gettext_lazy("Start the actions"),
        None,
        lambda problem, user, text: lifecycle.start_actions(problem, user=user),
    ),
    Stage(
        "verify",
        Status.ACTING,
        Status.VERIFYING,
        gettext_lazy("Start verification"),
        None,
        lambda problem, user, text: lifecycle.start_verification(problem, user=user),
    ),
    Stage(
        "failed",
        Status.VERIFYING,
        Status.ACTING,
        gettext_lazy("Verification failed"),
        gettext_lazy("What the verification found"),
        lambda problem, user, text: lifecycle.verification_failed(problem, user=user, reason=text),
    ),
)
STAGE_ACTIONS = "|".join(stage.action for stage in STAGES)


def stages_from(status: str) -> list[Stage]:
    return [stage for stage in STAGES if stage.source == status and lifecycle.allowed(status, stage.target)]


def may_move(user: User | AnonymousUser, problem: Problem) -> bool:
    """Who moves a problem without an 8D through its stages: its owner or the chair (assign)
    or the quality department (close). The problem was fetched within the user's scope."""
    return user.pk == problem.owner_id or rights.can_assign(user, problem) or rights.can_close(user, problem)


def _today(problem: Problem) -> dt.date:
    return timezone.localtime(timezone.now(), problem.plant.zone).date()


def assign_form(problem: Problem, data: QueryDict | None = None) -> AssignOwnerForm:
    return AssignOwnerForm(
        data,
        prefix="assign",
        people=people_of(problem.plant_id),
        today=_today(problem),
        current_due=problem.due_date,
        initial={"owner": problem.owner_id, "due_date": problem.due_date},
    )


def stage_form(stage: Stage, problem: Problem, data: QueryDict | None = None) -> NoteForm | None:
    if stage.note_label is None:
        return None
    initial = {"text": problem.cause_note} if stage.action == "cause" else {}
    return NoteForm(data, prefix=stage.action, label=stage.note_label, initial=initial)


def close_form(problem: Problem, has_report: bool, data: QueryDict | None = None) -> CloseForm | None:
    """None where the grade needs an 8D and none exists: nothing to enter, closing is blocked."""
    needs = lifecycle.needs_eightd(problem)
    if needs and not has_report:
        return None
    initial = {"cause_note": problem.cause_note}
    for item, entry in (problem.closure_checklist or {}).items():  # kept from an earlier closure
        initial.update({f"{item}_{key}": value for key, value in entry.items()})
    return CloseForm(data, prefix="close", with_cause=not needs, with_checklist=not has_report, initial=initial)


def duplicate_form(request: HttpRequest, data: QueryDict | None = None) -> DuplicateForm:
    return DuplicateForm(data, prefix="cancel", problems=visible_problems(request.user))


def reopen_form(data: QueryDict | None = None) -> NoteForm:
    return NoteForm(data, prefix="reopen", label=gettext_lazy("Why it is reopened"))


def checklist_rows(checklist: dict) -> list[dict]:
    """The D7 checklist a problem was closed with, for reading."""
    labels: dict[str | None, StrOrPromise] = dict(DOCUMENT_CHOICES)
    rows = []
    for item in CHECKLIST:
        entry = checklist.get(item) or {}
        detail = entry.get("reference") if entry.get("status") == UPDATED else entry.get("reason")
        rows.append({"label": DOCUMENTS[item], "status": labels.get(entry.get("status"), "–"), "detail": detail or ""})
    return rows


def lifecycle_context(request: HttpRequest, problem: Problem, bound: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card's content for the problem page (issues.problems.page). `bound`: forms with errors (by
    name) and a refused move's reason ("refusal"), when an action below re-renders."""
    bound, user, status = bound or {}, request.user, problem.status
    now = timezone.now()
    has_report = EightDReport.objects.filter(problem=problem).exists()
    visible = visible_problems(user)
    context = {
        "path": path_of(status),
        "days_without_owner": days_without_owner(
            status=status,
            has_owner=problem.owner_id is not None,
            occurred_at=problem.occurred_at,
            plan=problem.escalation_plan,
            now=now,
        ),
        "overdue": closure_overdue(status=status, due_date=problem.due_date, today=_today(problem)),
        "has_report": has_report,
        "refusal": bound.get("refusal"),
        "kept": visible.filter(pk=problem.duplicate_of_id).first() if problem.duplicate_of_id else None,
        "duplicates": list(visible.filter(duplicate_of=problem).only("pk", "number", "title")),
    }
    if status == Status.CLOSED and problem.closure_checklist:
        context["checklist"] = checklist_rows(problem.closure_checklist)
    if status in Problem.FINISHED:
        if rights.can_close(user, problem) and lifecycle.allowed(status, Status.OPEN):
            context["reopen_form"] = bound.get("reopen") or reopen_form()
        return context
    if rights.can_assign(user, problem):
        context["assign_form"] = bound.get("assign") or assign_form(problem)
    if not has_report and may_move(user, problem):
        context["stages"] = [
            (stage, bound.get(stage.action) or stage_form(stage, problem)) for stage in stages_from(status)
        ]
    closing = bound.get("close")
    if rights.can_close(user, problem):
        if lifecycle.allowed(status, Status.CLOSED):
            closing = closing or close_form(problem, has_report)
            context.update(can_close=True, close_form=closing)
        if lifecycle.allowed(status, Status.CANCELLED):
            context["cancel_form"] = bound.get("cancel") or duplicate_form(request)
    # What is missing, with what the close form holds when it comes back with errors.
    entered = closing if closing is not None and closing.is_bound else None
    context["blockers"] = lifecycle.closure_blockers(
        problem,
        checklist=entered.checklist() if entered else None,
        cause_note=entered["cause_note"].value() if entered and "cause_note" in entered.fields else None,
    )
    return context
