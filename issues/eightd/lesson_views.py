"""Reusing what the plant has learned (issue #4): the lessons-learned library, the "already
known?" hints on the intake form, and "copy from an earlier 8D"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from issues.common import rights
from issues.common.export import lesson_rows
from issues.common.ids import parse_id
from issues.common.lists import Export, list_page
from issues.common.scope import visible_lines, visible_problems
from issues.eightd import lessons, solving
from issues.eightd.filters import LessonFilter
from issues.models import EightDReport, Problem, Section
from issues.problems.lifecycle import TransitionRefused

PAGE_SIZE = 50


@permission_required("issues.view_problem", raise_exception=True)
def lesson_list(request):
    """Everyone in a plant reads the library the quality department keeps (docs/problem-solving.md §Lessons learned)."""
    return list_page(
        request,
        LessonFilter,
        lessons.library(request.user),
        template="issues/lessons/list.html",
        per_page=PAGE_SIZE,
        export=Export(lesson_rows, "qrqc-lessons"),
        rows=lambda found: lessons.mark_readable(request.user, found),
    )


@require_GET
@permission_required("issues.add_problem", raise_exception=True)
def already_known(request):
    """The intake form's hint (htmx): lessons and open problems for the failure mode being
    typed. Nothing found gives an empty answer, so the form shows nothing."""
    line_id = request.GET.get("line", "")
    text = request.GET.get("failure_mode", "")
    if not text.strip():  # the usual case while the form is fresh: no query at all
        return HttpResponse("")
    # Only an id reaches the query (issues.common.ids); a line outside the user's scope is no line.
    pk = parse_id(line_id)
    line = visible_lines(request.user).filter(pk=pk).first() if pk else None
    if line is None:
        return HttpResponse("")
    known = lessons.already_known(line, text)
    if not known:
        return HttpResponse("")
    return render(
        request,
        "issues/_already_known.html",
        {
            "known": known,
            "line": line,
        },
    )


# --- copy from an earlier 8D ----------------------------------------------------------------


def _report_for(request, pk: int) -> EightDReport:
    visible = visible_problems(request.user).select_related("plant", "line__workshop", "failure_mode")
    problem = get_object_or_404(visible, pk=pk)
    report = get_object_or_404(EightDReport, problem=problem)
    report.problem = problem  # rights checks read it; no second query
    if not rights.can_edit(request.user, report):
        raise PermissionDenied
    return report


def _render_copy(request, report: EightDReport, *, error: str = "", status: int = 200):
    candidates = lessons.copy_candidates(request.user, report)
    search = request.GET.get("q", "").strip()
    if search:
        candidates = lessons.search_candidates(candidates, search)
    page = Paginator(candidates, PAGE_SIZE).get_page(request.GET.get("page"))
    for candidate in page:
        candidate.root_cause = lessons.root_cause_excerpt(candidate.d4)
    states = Section.objects.filter(report=report, code__in=solving.COPIED_SECTIONS).order_by("code")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "problem": report.problem,
        "report": report,
        "page": page,
        "search": search,
        "query": query.urlencode(),
        "sections": states,
        "error": error,
    }
    return render(request, "issues/eightd/copy.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required("issues.view_problem", raise_exception=True)
def eightd_copy(request, pk: int):
    report = _report_for(request, pk)
    if request.method == "GET":
        return _render_copy(request, report)
    if report.problem.status in Problem.FINISHED:
        return _render_copy(request, report, error=_("The problem is already closed or cancelled."), status=400)
    source_id = request.POST.get("source", "")
    # Only an id reaches the query, and only a report this page offers: another plant's, one
    # the user may not see, or this report itself is refused like a typo.
    pk = parse_id(source_id)
    source = lessons.copy_candidates(request.user, report).filter(pk=pk).first() if pk else None
    if source is None:
        return _render_copy(request, report, error=_("Choose one of the earlier 8D reports listed."), status=400)
    try:
        copied = solving.copy_from(report, source=source, user=request.user)
    except TransitionRefused as refusal:
        return _render_copy(request, report, error=str(refusal), status=400)
    number = source.problem.number
    if copied:
        messages.success(
            request,
            _("Copied from %(number)s as drafts: %(sections)s. Check them before submitting.")
            % {"number": number, "sections": ", ".join(copied)},
        )
    else:
        messages.warning(
            request,
            _("Nothing was copied from %(number)s: its sections are empty, or these are already submitted.")
            % {"number": number},
        )
    return redirect("eightd:report", pk=report.problem.pk)
