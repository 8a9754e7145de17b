"""The problem pages: home, logging a problem (with its live grade), the problem page and its
containment and escalation fragment, the problem list, and the photos."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from escalation.forms import ContainmentForm
from escalation.timeline import timeline
from issues.common import rights
from issues.common.export import problem_rows
from issues.common.ids import parse_id
from issues.common.lists import Export, list_page
from issues.common.scope import scope_of, visible_lines, visible_plants, visible_problems
from issues.grading.facts import clean_facts, facts_for
from issues.models import FailureMode, Line, Problem, ProblemPhoto, Profile
from issues.problems.filters import ProblemFilter
from issues.problems.flags import flag
from issues.problems.forms import ProblemForm
from issues.problems.intake import (
    IdempotencyConflict,
    Report,
    failure_mode_named,
    grade_report,
    report_problem,
    shift_at,
)
from issues.problems.lifecycle import contain
from issues.problems.page import PROBLEM_RELATED, problem_page
from issues.problems.photos import staged_photos, store_photo


def home(request):
    since = timezone.now() - dt.timedelta(hours=24)
    visible = visible_problems(request.user)
    recent = flag(visible.filter(occurred_at__gte=since).select_related(*PROBLEM_RELATED)[:20], timezone.now())
    counts = visible.open().aggregate(
        a=Count("pk", filter=Q(grade="A")), b=Count("pk", filter=Q(grade="B")), c=Count("pk", filter=Q(grade="C"))
    )
    return render(
        request, "issues/home.html", {"recent": recent, "open_counts": counts, "no_scope": scope_of(request.user).empty}
    )


def default_line(user) -> Line | None:
    lines = visible_lines(user, "issues.add_problem").filter(active=True)
    profile = Profile.objects.filter(user=user).select_related("home_line").first()
    if profile and profile.home_line and lines.filter(pk=profile.home_line_id).exists():
        return profile.home_line
    assigned = lines.filter(pk__in=scope_of(user).line_ids).first()
    if assigned:
        return assigned
    return lines.first() if lines.count() == 1 else None


def _intake_context(request, form, staged):
    plant_ids = visible_plants(request.user).values("pk")
    return {
        "form": form,
        "staged": staged,
        "failure_modes": FailureMode.objects.filter(plant__in=plant_ids).order_by("name_en"),
        "max_photos": settings.QRQC_PHOTO_MAX_COUNT,
    }


@permission_required("issues.add_problem", raise_exception=True)
def problem_new(request):
    staged: list[ProblemPhoto] = []
    if request.method == "POST":
        form = ProblemForm(request.POST, request.FILES, user=request.user)
        staged = staged_photos(request.user, request.POST.getlist("staged_photo"))
        valid = form.is_valid()
        new_photos = [store_photo(jpeg, name=name, user=request.user) for name, jpeg in form.processed_photos]
        if valid:
            try:
                problem, created = report_problem(
                    form.to_report(),
                    reporter=request.user,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    photos=staged + new_photos,
                )
            except IdempotencyConflict as conflict:
                form.refuse_spent_key(conflict.problem.number)
            else:
                if created:
                    messages.success(
                        request,
                        _("%(number)s logged as grade %(grade)s.") % {"number": problem.number, "grade": problem.grade},
                    )
                else:
                    messages.info(
                        request, _("%(number)s was already logged; nothing was added.") % {"number": problem.number}
                    )
                return redirect("problems:detail", pk=problem.pk)
        staged += new_photos
        status = 400
    else:
        line = default_line(request.user)
        now = timezone.now()
        initial = {"occurred_at": timezone.localtime(now).replace(second=0, microsecond=0), "line": line}
        if line:
            initial["shift"] = shift_at(line.workshop.plant, now)
        form = ProblemForm(user=request.user, initial=initial)
        status = 200
    return render(request, "issues/problem_form.html", _intake_context(request, form, staged), status=status)


@permission_required("issues.add_problem", raise_exception=True)
@require_POST
def grade_preview(request):
    """The live grade while the form is being typed (htmx); stores nothing."""
    category = request.POST.get("category", "")
    line_id = request.POST.get("line", "")
    pk = parse_id(line_id)
    line = visible_lines(request.user, "issues.add_problem").filter(pk=pk).first() if pk else None
    context = {"grading": None, "errors": {}}
    if line and category:
        submitted = {fact.name: request.POST.get(fact.name, "") for fact in facts_for(category)}
        facts, errors = clean_facts(category, submitted)
        context["errors"] = errors
        if not errors:
            report = Report(
                line=line,
                category=category,
                title="",
                occurred_at=timezone.now(),
                facts=facts,
                cause_family=request.POST.get("cause_family", ""),
                failure_mode=failure_mode_named(
                    line.workshop.plant, request.POST.get("failure_mode", ""), create=False
                ),
            )
            grading, table = grade_report(report)
            context.update(grading=grading, table=table, explanation=grading.explanation(get_language() or "en"))
    return render(request, "issues/_grade_preview.html", context)


@permission_required("issues.view_problem", raise_exception=True)
def problem_detail(request, pk: int):
    return problem_page(request, pk)


@permission_required("issues.view_problem", raise_exception=True)
def problem_list(request):
    return list_page(
        request,
        ProblemFilter,
        visible_problems(request.user).select_related(*PROBLEM_RELATED),
        template="issues/problem_list.html",
        export=Export(problem_rows, "qrqc-problems"),
        rows=lambda problems: flag(problems, timezone.now()),
    )


def photo(request, token: str, size: str = "full"):
    if not token.isalnum():  # tokens are hex; a NUL byte in the URL made PostgreSQL raise (a 500)
        raise Http404
    photo = get_object_or_404(ProblemPhoto.objects.select_related("problem__line__workshop"), token=token)
    if photo.problem is None:
        if photo.uploaded_by_id != request.user.pk:
            raise Http404
    elif not request.user.has_perm("issues.view_problem", photo.problem):
        raise Http404
    image = photo.thumbnail if size == "thumb" and photo.thumbnail else photo.image
    response = FileResponse(image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"  # a token's photo never changes
    return response


# --- containment and the escalation ladder -------------------------------------------------


def _visible_problem(request, pk: int) -> Problem:
    return get_object_or_404(visible_problems(request.user).select_related("plant", "line__workshop"), pk=pk)


@login_not_required
def problem_escalation(request, pk: int):
    """The ladder alone, refreshed by htmx when the countdown runs out. Signed out (the session
    ended while the page stayed open): 204, so htmx leaves the page as it is."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    if not request.user.has_perm("issues.view_problem"):
        raise PermissionDenied
    problem = _visible_problem(request, pk)
    return render(
        request, "escalation/_timeline.html", {"problem": problem, "escalation": timeline(problem, request.user)}
    )


@require_POST
@permission_required("issues.add_problem", raise_exception=True)
def contain_problem(request, pk: int):
    problem = _visible_problem(request, pk)
    if not rights.can_contain(request.user, problem):
        raise PermissionDenied
    if problem.status in Problem.FINISHED:
        messages.error(
            request, _("This problem is %(status)s; nothing to contain.") % {"status": problem.get_status_display()}
        )
        return redirect("problems:detail", pk=problem.pk)
    form = ContainmentForm(request.POST)
    if not form.is_valid():
        return problem_page(request, problem.pk, containment_form=form, status=400)
    first = problem.contained_at is None
    containment = contain(
        problem,
        action=form.cleaned_data["action"],
        done_by=form.cleaned_data["done_by"],
        quantity_secured=form.cleaned_data["quantity_secured"],
        user=request.user,
    )
    if first:
        when = timezone.localtime(containment.recorded_at).strftime("%H:%M")
        messages.success(request, _("Containment recorded: escalation stopped at %(time)s.") % {"time": when})
    else:
        messages.success(request, _("Containment action added."))
    return redirect(reverse("problems:detail", args=[problem.pk]) + "#escalation")
