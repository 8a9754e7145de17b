"""The 8D report editor (issue #4): the report page with its D0–D8 table, a page per section
to answer, submit and review it, its attachments, and the strip on the problem page.

Views only check rights (issues.common.rights) and call the verbs (issues.eightd.solving, issues.eightd.sections,
issues.eightd.attachments); a refused move is shown with its reason, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from issues.common import rights
from issues.common.people import people_of, person_name
from issues.common.scope import visible_problems
from issues.eightd import rules as eightd
from issues.eightd import sections, solving
from issues.eightd.attachments import delete_attachment, store_attachment
from issues.eightd.forms import AttachmentForm, HeaderForm, OptionalNoteForm, ReasonForm
from issues.eightd.summary import rows_of
from issues.models import EightDReport, Problem, Section, SectionAttachment, SectionCode
from issues.problems import lifecycle
from issues.problems.lifecycle import TransitionRefused


def _problem(request, pk: int) -> Problem:
    visible = visible_problems(request.user).select_related("plant", "line__workshop", "owner__profile")
    return get_object_or_404(visible, pk=pk)


def _report_of(problem: Problem) -> EightDReport | None:
    report = EightDReport.objects.select_related("leader__profile", "copied_from__problem").filter(problem=problem)
    report = report.first()
    if report is not None:
        report.problem = problem  # rights checks read it; no second query
    return report


def _report(problem: Problem) -> EightDReport:
    report = _report_of(problem)
    if report is None:
        raise Http404
    return report


def _load(request, pk: int, code: str) -> tuple[Problem, EightDReport, Section]:
    problem = _problem(request, pk)
    report = _report(problem)
    section = get_object_or_404(
        Section.objects.select_related("submitted_by__profile", "reviewed_by__profile"), report=report, code=code
    )
    section.report = report
    return problem, report, section


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


# --- the report page ----------------------------------------------------------------------


def _render_report(request, problem: Problem, report: EightDReport | None, *, header_form=None, status=200):
    user = request.user
    context: dict = {"problem": problem, "report": report}
    if report is None:
        unfinished = problem.status not in Problem.FINISHED
        context["needs_eightd"] = unfinished and lifecycle.needs_eightd(problem)
        context["can_start"] = unfinished and rights.can_start_report(user, problem)
    else:
        can_edit = rights.can_edit(user, report)
        context.update(
            rows=rows_of(list(report.sections.all()), problem, timezone.now()),
            team=report.members.select_related("profile").order_by("profile__display_name", "username"),
            can_edit=can_edit,
            header_form=(header_form or HeaderForm(instance=report)) if can_edit else None,
        )
    return render(request, "issues/eightd/report.html", context, status=status)


@permission_required("issues.view_problem", raise_exception=True)
def report_page(request, pk: int):
    problem = _problem(request, pk)
    return _render_report(request, problem, _report_of(problem))


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def start(request, pk: int):
    problem = _problem(request, pk)
    _require(rights.can_start_report(request.user, problem))
    try:
        solving.start_report(problem, user=request.user)
    except TransitionRefused as refusal:
        messages.error(request, str(refusal))
    return redirect("eightd:report", pk=problem.pk)


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def header(request, pk: int):
    problem = _problem(request, pk)
    report = _report(problem)
    _require(rights.can_edit(request.user, report))
    form = HeaderForm(request.POST, instance=report)
    if not form.is_valid():
        return _render_report(request, problem, report, header_form=form, status=400)
    report = form.save(commit=False)
    report._history_user = request.user
    # Only these columns: D1 writes the leader at the same time (issues.eightd.solving._sync_team).
    report.save(update_fields=HeaderForm.Meta.fields)
    messages.success(request, _("Report header saved."))
    return redirect("eightd:report", pk=problem.pk)


# --- the section page ---------------------------------------------------------------------


def answer_display(code: str, content: dict) -> dict:
    """Section.content as labelled values and tables, for locked sections and readers."""
    form_class = sections.FORMS[code]
    people = get_user_model().objects.filter(pk__in=sections.people_ids(code, content)).select_related("profile")
    names = {person.pk: person_name(person) for person in people}
    fields = [
        (field.label, sections.answer_text(field, content.get(name), names) or "–")
        for name, field in form_class.base_fields.items()
        if name not in form_class.tables
    ]
    tables = []
    for table, row_form in form_class.tables.items():
        columns = list(row_form.base_fields.items())
        rows = [
            [(field.label, sections.answer_text(field, row.get(name), names) or "–") for name, field in columns]
            for row in content.get(table) or []
        ]
        tables.append(
            {"label": sections.table_label(code, table), "columns": [f.label for _n, f in columns], "rows": rows}
        )
    return {"fields": fields, "tables": tables}


def _render_section(request, problem, report, section, *, status=200, bound: dict | None = None, refusal=None):
    user, code, bound = request.user, section.code, bound or {}
    can_edit = rights.can_edit(user, report)
    can_review = rights.can_review(user, problem)
    editable = can_edit and not section.locked
    strip = rows_of(list(report.sections.all()), problem, timezone.now())
    context = {
        "problem": problem,
        "report": report,
        "section": section,
        "title": SectionCode(code).label,
        "strip": strip,
        "row": next(row for row in strip if row.section.code == code),
        "editable": editable,
        "refusal": refusal,
        "history": section.history.select_related("history_user__profile").order_by("-history_date")[:50],
    }
    if editable:
        form, formsets = bound.get("answer") or sections.build(
            code, content=section.content, people=people_of(problem.plant_id)
        )
        context["form"] = form
        context["answer_errors"] = "answer" in bound  # an answer comes back only when it has errors
        context["tables"] = [(sections.table_label(code, name), formset) for name, formset in formsets.items()]
        if code in eightd.MAY_BE_NOT_APPLICABLE:
            context["na_form"] = bound.get("na") or ReasonForm(prefix="na")
        context["upload_form"] = bound.get("upload") or AttachmentForm(prefix="file")
    else:
        context["answer"] = answer_display(code, section.content)
    if can_review and section.state == Section.State.SUBMITTED:
        context["accept_form"] = bound.get("accept") or OptionalNoteForm(prefix="accept")
        context["return_form"] = bound.get("return") or ReasonForm(prefix="return")
    if can_review and section.done:
        context["reopen_form"] = bound.get("reopen") or ReasonForm(prefix="reopen")
    attachments = list(section.attachments.select_related("uploaded_by__profile"))
    context.update(
        photos=[item for item in attachments if item.kind == SectionAttachment.Kind.PHOTO],
        documents=[item for item in attachments if item.kind == SectionAttachment.Kind.DOCUMENT],
        room_for_files=len(attachments) < settings.QRQC_ATTACHMENT_MAX_COUNT,
        max_files=settings.QRQC_ATTACHMENT_MAX_COUNT,
        max_megabytes=settings.QRQC_ATTACHMENT_MAX_BYTES // (1024 * 1024),
    )
    return render(request, "issues/eightd/section.html", context, status=status)


@permission_required("issues.view_problem", raise_exception=True)
def section_page(request, pk: int, code: str):
    return _render_section(request, *_load(request, pk, code))


def _back(problem: Problem, section: Section, anchor: str = "") -> str:
    return reverse("eightd:section", args=[problem.pk, section.code]) + anchor


def _answer(request, problem, report, section, *, complete: bool):
    _require(rights.can_edit(request.user, report))
    if section.locked:
        refusal = _("%(section)s is “%(state)s”: it cannot be edited now.") % {
            "section": section.code,
            "state": section.get_state_display(),
        }
        return _render_section(request, problem, report, section, status=400, refusal=refusal)
    people = people_of(problem.plant_id)
    content, form, formsets = sections.clean_section(section.code, request.POST, people=people, complete=complete)
    if content is None:
        return _render_section(request, problem, report, section, status=400, bound={"answer": (form, formsets)})
    try:
        if complete:
            solving.submit(section, user=request.user, content=content)
        else:
            solving.save_answer(section, user=request.user, content=content)
    except TransitionRefused as refusal:
        return _render_section(
            request, problem, report, section, status=400, bound={"answer": (form, formsets)}, refusal=refusal
        )
    messages.success(request, _("Submitted for review.") if complete else _("Draft saved."))
    return redirect(_back(problem, section))


@dataclass(frozen=True)
class Decision:
    """A reviewer's (or, for "not applicable", an editor's) decision with its text."""

    form: Callable[..., forms.Form]
    by_reviewer: bool
    verb: Callable[..., Section]
    done: str


DECISIONS = {
    "accept": Decision(
        OptionalNoteForm,
        True,
        lambda section, user, text: solving.accept(section, user=user, note=text),
        gettext_lazy("Accepted."),
    ),
    "return": Decision(
        ReasonForm,
        True,
        lambda section, user, text: solving.return_answer(section, user=user, reason=text),
        gettext_lazy("Returned to the team."),
    ),
    "reopen": Decision(
        ReasonForm,
        True,
        lambda section, user, text: solving.reopen_section(section, user=user, reason=text),
        gettext_lazy("Reopened."),
    ),
    "na": Decision(
        ReasonForm,
        False,
        lambda section, user, text: solving.mark_not_applicable(section, user=user, reason=text),
        gettext_lazy("Marked not applicable."),
    ),
}


def _decide(request, problem, report, section, *, action: str):
    decision = DECISIONS[action]
    if decision.by_reviewer:
        _require(rights.can_review(request.user, problem))
    else:
        _require(rights.can_edit(request.user, report))
    form = decision.form(request.POST, prefix=action)
    if not form.is_valid():
        return _render_section(request, problem, report, section, status=400, bound={action: form})
    try:
        decision.verb(section, request.user, form.cleaned_data["text"])
    except TransitionRefused as refusal:
        return _render_section(request, problem, report, section, status=400, bound={action: form}, refusal=refusal)
    messages.success(request, str(decision.done))
    return redirect(_back(problem, section))


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def section_action(request, pk: int, code: str, action: str):
    problem, report, section = _load(request, pk, code)
    if action in ("save", "submit"):
        return _answer(request, problem, report, section, complete=action == "submit")
    return _decide(request, problem, report, section, action=action)


# --- attachments --------------------------------------------------------------------------


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def attachment_upload(request, pk: int, code: str):
    problem, report, section = _load(request, pk, code)
    _require(rights.can_edit(request.user, report))
    form = AttachmentForm(request.POST, request.FILES, prefix="file")
    if form.is_valid():
        try:
            store_attachment(
                section, form.cleaned_data["file"], user=request.user, caption=form.cleaned_data["caption"]
            )
        except ValidationError as error:
            form.add_error("file", error)
    if form.errors:
        section.refresh_from_db()
        # A locked section shows no upload form: the reason goes at the top of the page.
        refusal = " ".join(form.errors.get("file", [])) if section.locked else None
        return _render_section(request, problem, report, section, status=400, bound={"upload": form}, refusal=refusal)
    messages.success(request, _("File attached."))
    return redirect(_back(problem, section, "#attachments"))


@require_POST
@permission_required("issues.view_problem", raise_exception=True)
def attachment_delete(request, pk: int, code: str, token: str):
    problem, report, section = _load(request, pk, code)
    _require(rights.can_edit(request.user, report))
    attachment = get_object_or_404(SectionAttachment, section=section, token=token)
    try:
        delete_attachment(attachment, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("File removed."))
    return redirect(_back(problem, section, "#attachments"))


@permission_required("issues.view_problem", raise_exception=True)
def attachment_file(request, token: str, size: str = "full"):
    if not token.isalnum():  # tokens are hex; a NUL byte in the URL made PostgreSQL raise (a 500)
        raise Http404
    visible = visible_problems(request.user).values("pk")
    attachment = get_object_or_404(SectionAttachment, token=token, section__report__problem__in=visible)
    if size == "thumb":
        if not attachment.thumbnail:
            raise Http404
        response = FileResponse(attachment.thumbnail.open("rb"), content_type="image/jpeg")
    elif attachment.kind == SectionAttachment.Kind.PHOTO:
        response = FileResponse(attachment.file.open("rb"), content_type="image/jpeg")
    else:
        # Documents download rather than open in the site's origin.
        response = FileResponse(
            attachment.file.open("rb"),
            content_type=attachment.content_type,
            as_attachment=True,
            filename=attachment.original_name,
        )
    response["Cache-Control"] = "private, max-age=86400"  # a token's file never changes
    return response
