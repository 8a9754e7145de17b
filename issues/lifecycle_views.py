"""The "Status and owner" card on the problem page (issue #4): the lifecycle path, owner and
closure date, the manual stages of a problem without an 8D, closing with the D7 checklist,
cancelling as a duplicate and reopening. The flags it shows also mark the problem lists.

Views check scope (outsiders get 404) and rights (issues.common.rights, 403) and call the verbs of
issues.lifecycle; a refused move re-renders the problem page with its reason (400)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from escalation import ladder
from escalation.models import AlarmKind
from issues import eightd, lifecycle
from issues.common import rights
from issues.common.scope import visible_problems
from issues.eightd import CHECKLIST, UPDATED
from issues.forms import DOCUMENT_CHOICES, AssignOwnerForm, CloseForm, DuplicateForm, NoteForm
from issues.lifecycle import TransitionRefused
from issues.models import EightDReport, Problem
from issues.sections import DOCUMENTS
from issues.solving import people_of

Status = Problem.Status
FINISHED = (Status.CLOSED, Status.CANCELLED)

# DOMAIN.md §4: a problem with no owner after 2 days alarms the quality section chief. The
# plant's own delay is the no_owner alarm of the plan copied onto the problem.
NO_OWNER_AFTER = dt.timedelta(days=2)


# --- pure rules -----------------------------------------------------------------------------


def no_owner_limit(plan: dict) -> dt.timedelta:
    step = next((step for step in ladder.timed_alarms(plan) if step.kind == AlarmKind.NO_OWNER), None)
    return dt.timedelta(minutes=step.after_minutes) if step else NO_OWNER_AFTER


def days_without_owner(
    *, status: str, has_owner: bool, occurred_at: dt.datetime, plan: dict, now: dt.datetime
) -> int | None:
    """Whole days an open problem has gone without an owner, once the no-owner delay has run
    out (from the limit itself on, as the sweep raises the alarm); None: nothing to flag."""
    if has_owner or status in FINISHED:
        return None
    age = now - occurred_at
    return age.days if age >= no_owner_limit(plan) else None


def closure_overdue(*, status: str, due_date: dt.date | None, today: dt.date) -> bool:
    return due_date is not None and due_date < today and status not in FINISHED


def path_of(status: str) -> list[dict]:
    """The lifecycle path (open … closed), each step done, current or still to come."""
    if status not in eightd.ORDER:
        return []
    current = eightd.ORDER.index(status)
    return [
        {"label": Status(step).label, "state": "done" if i < current else "current" if i == current else "todo"}
        for i, step in enumerate(eightd.ORDER)
    ]


PK_MARK = 9_876_543_210  # an id no problem has, replaced in the reversed address


def problem_url_format() -> str:
    """The problem page's address with "{}" for its id: a list of 50 links costs one reverse()
    instead of 50 (2 ms of a board page)."""
    return reverse("problem_detail", args=[PK_MARK]).replace(str(PK_MARK), "{}")


def flag(problems: Iterable[Problem], now: dt.datetime) -> list[Problem]:
    """Mark each problem of a list with `days_without_owner` and `closure_overdue` (its plant,
    selected with it, gives the local day)."""
    problems = list(problems)
    for problem in problems:
        problem.days_without_owner = days_without_owner(
            status=problem.status,
            has_owner=problem.owner_id is not None,
            occurred_at=problem.occurred_at,
            plan=problem.escalation_plan,
            now=now,
        )
        today = timezone.localtime(now, problem.plant.zone).date()
        problem.closure_overdue = closure_overdue(status=problem.status, due_date=problem.due_date, today=today)
    return problems


# --- the manual stages of a problem without an 8D -------------------------------------------


@dataclass(frozen=True)
class Stage:
    action: str  # in the URL
    source: str
    target: str
    button: str
    note_label: str | None  # the text the verb needs, if any
    verb: Callable[[Problem, object, str], Problem]


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


def may_move(user, problem: Problem) -> bool:
    """Who moves a problem without an 8D through its stages: its owner or the chair (assign)
    or the quality department (close). The problem was fetched within the user's scope."""
    return user.pk == problem.owner_id or rights.can_assign(user, problem) or rights.can_close(user, problem)


# --- forms as the card shows them -----------------------------------------------------------


def _today(problem: Problem) -> dt.date:
    return timezone.localtime(timezone.now(), problem.plant.zone).date()


def _assign_form(problem: Problem, data=None) -> AssignOwnerForm:
    return AssignOwnerForm(
        data,
        prefix="assign",
        people=people_of(problem.plant_id),
        today=_today(problem),
        current_due=problem.due_date,
        initial={"owner": problem.owner_id, "due_date": problem.due_date},
    )


def _stage_form(stage: Stage, problem: Problem, data=None) -> NoteForm | None:
    if stage.note_label is None:
        return None
    initial = {"text": problem.cause_note} if stage.action == "cause" else {}
    return NoteForm(data, prefix=stage.action, label=stage.note_label, initial=initial)


def _close_form(problem: Problem, has_report: bool, data=None) -> CloseForm | None:
    """None where the grade needs an 8D and none exists: nothing to enter, closing is blocked."""
    needs = lifecycle.needs_eightd(problem)
    if needs and not has_report:
        return None
    initial = {"cause_note": problem.cause_note}
    for item, entry in (problem.closure_checklist or {}).items():  # kept from an earlier closure
        initial.update({f"{item}_{key}": value for key, value in entry.items()})
    return CloseForm(data, prefix="close", with_cause=not needs, with_checklist=not has_report, initial=initial)


def _duplicate_form(request, data=None) -> DuplicateForm:
    return DuplicateForm(data, prefix="cancel", problems=visible_problems(request.user))


def _reopen_form(data=None) -> NoteForm:
    return NoteForm(data, prefix="reopen", label=gettext_lazy("Why it is reopened"))


def checklist_rows(checklist: dict) -> list[dict]:
    """The D7 checklist a problem was closed with, for reading."""
    labels = dict(DOCUMENT_CHOICES)
    rows = []
    for item in CHECKLIST:
        entry = checklist.get(item) or {}
        detail = entry.get("reference") if entry.get("status") == UPDATED else entry.get("reason")
        rows.append({"label": DOCUMENTS[item], "status": labels.get(entry.get("status"), "–"), "detail": detail or ""})
    return rows


def lifecycle_context(request, problem: Problem, bound: dict | None = None) -> dict:
    """The card's content for issues.views.problem_detail. `bound`: forms with errors (by
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
    if status in FINISHED:
        if rights.can_close(user, problem) and lifecycle.allowed(status, Status.OPEN):
            context["reopen_form"] = bound.get("reopen") or _reopen_form()
        return context
    if rights.can_assign(user, problem):
        context["assign_form"] = bound.get("assign") or _assign_form(problem)
    if not has_report and may_move(user, problem):
        context["stages"] = [
            (stage, bound.get(stage.action) or _stage_form(stage, problem)) for stage in stages_from(status)
        ]
    close_form = bound.get("close")
    if rights.can_close(user, problem):
        if lifecycle.allowed(status, Status.CLOSED):
            close_form = close_form or _close_form(problem, has_report)
            context.update(can_close=True, close_form=close_form)
        if lifecycle.allowed(status, Status.CANCELLED):
            context["cancel_form"] = bound.get("cancel") or _duplicate_form(request)
    # What is missing, with what the close form holds when it comes back with errors.
    entered = close_form if close_form is not None and close_form.is_bound else None
    context["blockers"] = lifecycle.closure_blockers(
        problem,
        checklist=entered.checklist() if entered else None,
        cause_note=entered["cause_note"].value() if entered and "cause_note" in entered.fields else None,
    )
    return context


# --- the actions ----------------------------------------------------------------------------


def _problem(request, pk: int) -> Problem:
    visible = visible_problems(request.user).select_related("plant", "line__workshop")
    return get_object_or_404(visible, pk=pk)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _again(request, problem: Problem, **bound):
    """The problem page again, with the form's errors or the refusal, as a 400."""
    from issues.views import problem_detail

    response = problem_detail(request, problem.pk, lifecycle_forms=bound)
    response.status_code = 400
    return response


def _done(request, problem: Problem, message: str):
    messages.success(request, message)
    return redirect(reverse("problem_detail", args=[problem.pk]) + "#lifecycle")


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def assign(request, pk: int):
    problem = _problem(request, pk)
    _require(rights.can_assign(request.user, problem))
    form = _assign_form(problem, request.POST)
    if not form.is_valid():
        return _again(request, problem, assign=form)
    data = form.cleaned_data
    try:
        lifecycle.assign_owner(problem, user=request.user, owner=data["owner"], due_date=data["due_date"])
    except TransitionRefused as refusal:
        return _again(request, problem, assign=form, refusal=str(refusal))
    return _done(request, problem, _("Owner and closure date saved."))


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def stage(request, pk: int, action: str):
    step = next(stage for stage in STAGES if stage.action == action)  # the URL admits only these
    problem = _problem(request, pk)
    _require(may_move(request.user, problem))
    form = _stage_form(step, problem, request.POST)
    if form is not None and not form.is_valid():
        return _again(request, problem, **{action: form})
    try:
        step.verb(problem, request.user, form.cleaned_data["text"] if form else "")
    except TransitionRefused as refusal:
        return _again(request, problem, **{action: form}, refusal=str(refusal))
    return _done(request, problem, _("Status: %(status)s.") % {"status": Status(step.target).label})


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def close(request, pk: int):
    problem = _problem(request, pk)
    _require(rights.can_close(request.user, problem))
    form = _close_form(problem, EightDReport.objects.filter(problem=problem).exists(), request.POST)
    if form is not None and not form.is_valid():
        return _again(request, problem, close=form)
    try:
        lifecycle.close_problem(
            problem,
            user=request.user,
            checklist=form.checklist() if form else None,
            cause_note=form.cleaned_data.get("cause_note") if form else None,
        )
    except TransitionRefused as refusal:
        return _again(request, problem, close=form, refusal=str(refusal))
    return _done(request, problem, _("Problem closed."))


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def cancel(request, pk: int):
    problem = _problem(request, pk)
    _require(rights.can_close(request.user, problem))
    form = _duplicate_form(request, request.POST)
    if not form.is_valid():
        return _again(request, problem, cancel=form)
    kept = form.cleaned_data["number"]
    try:
        lifecycle.cancel_as_duplicate(problem, user=request.user, duplicate_of=kept, reason=form.cleaned_data["reason"])
    except TransitionRefused as refusal:
        return _again(request, problem, cancel=form, refusal=str(refusal))
    return _done(request, problem, _("Cancelled as a duplicate of %(number)s.") % {"number": kept.number})


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def reopen(request, pk: int):
    problem = _problem(request, pk)
    _require(rights.can_close(request.user, problem))
    form = _reopen_form(request.POST)
    if not form.is_valid():
        return _again(request, problem, reopen=form)
    try:
        lifecycle.reopen(problem, user=request.user, reason=form.cleaned_data["text"])
    except TransitionRefused as refusal:
        return _again(request, problem, reopen=form, refusal=str(refusal))
    return _done(request, problem, _("Problem reopened."))
