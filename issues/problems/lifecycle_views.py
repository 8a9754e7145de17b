"""The actions of the "Status and owner" card (issues.problems.card): assign, the manual stages,
close, cancel as a duplicate, reopen.

Views check scope (outsiders get 404) and rights (issues.common.rights, 403) and call the verbs of
issues.problems.lifecycle; a refused move shows the problem page again with its reason (400)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from issues.common import rights
from issues.common.scope import visible_problems
from issues.models import EightDReport, Problem
from issues.problems import card, lifecycle
from issues.problems.lifecycle import TransitionRefused
from issues.problems.page import problem_page

Status = Problem.Status


def _problem(request, pk: int) -> Problem:
    visible = visible_problems(request.user).select_related("plant", "line__workshop")
    return get_object_or_404(visible, pk=pk)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _again(request, problem: Problem, **bound):
    """The problem page again, with the form's errors or the refusal, as a 400."""
    return problem_page(request, problem.pk, lifecycle_forms=bound, status=400)


def _done(request, problem: Problem, message: str):
    messages.success(request, message)
    return redirect(reverse("problems:detail", args=[problem.pk]) + "#lifecycle")


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def assign(request, pk: int):
    problem = _problem(request, pk)
    _require(rights.can_assign(request.user, problem))
    form = card.assign_form(problem, request.POST)
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
    step = next(stage for stage in card.STAGES if stage.action == action)  # the URL admits only these
    problem = _problem(request, pk)
    _require(card.may_move(request.user, problem))
    form = card.stage_form(step, problem, request.POST)
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
    form = card.close_form(problem, EightDReport.objects.filter(problem=problem).exists(), request.POST)
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
    form = card.duplicate_form(request, request.POST)
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
    form = card.reopen_form(request.POST)
    if not form.is_valid():
        return _again(request, problem, reopen=form)
    try:
        lifecycle.reopen(problem, user=request.user, reason=form.cleaned_data["text"])
    except TransitionRefused as refusal:
        return _again(request, problem, reopen=form, refusal=str(refusal))
    return _done(request, problem, _("Problem reopened."))
